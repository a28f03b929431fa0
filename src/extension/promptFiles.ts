// The extension's questions about prompt files (`*.introspect`), answered by the model host
// (src/protocol/promptQueries.ts): the extension never parses a prompt file itself.
import type * as vscode from "vscode";
import {
  PromptBlocksRequest,
  PromptTargetRequest,
  type Position,
  type PromptBlocksResult,
  type PromptTargetParams,
  type PromptTextTarget,
} from "../protocol/promptQueries";
import type { HostClient } from "./hostClient";

export function isPromptFile(doc: { languageId: string; fileName: string }): boolean {
  return doc.languageId === "introspect" || doc.fileName.endsWith(".introspect");
}

/** A plain position (vscode.Position is a class; the wire wants its two numbers). */
export function plainPosition(p: Position): Position {
  return { line: p.line, character: p.character };
}

/** The prompt and patch blocks under `position` (line -1: none), or undefined when the host is not running. */
export async function promptBlocksAt(
  host: HostClient,
  doc: vscode.TextDocument,
  position: Position,
): Promise<PromptBlocksResult | undefined> {
  if (!host.isRunning || !isPromptFile(doc)) return undefined;
  return host.client.sendRequest(PromptBlocksRequest.type, { source: doc.getText(), position: plainPosition(position) });
}

/** The text value a selection is in, or that a lens names; null when there is none. */
export async function promptTextTarget(
  host: HostClient,
  source: string,
  find: PromptTargetParams["find"],
): Promise<PromptTextTarget | null> {
  return host.client.sendRequest(PromptTargetRequest.type, { source, find });
}

// What the extension asks the model host about a prompt file (`*.introspect`) instead of parsing
// it itself: the prompt files' parser lives in the engine, which runs only in the host, CLI and
// bench. Each request carries the document's text as the editor has it (so an unsaved edit counts)
// and the host answers from src/server/language/promptQueries.ts.
import { RequestType } from "vscode-languageserver-protocol";
import type { ExpertLine, PatchSpec, Position, Range } from "../engine/shapes";

export type { Position, Range };

/** A text value of a prompt file (prompt text, patch prompt, contrast item) chosen for a probe. */
export interface PromptTextTarget {
  /** The text the model sees: the value's text (escapes resolved), cut after the selection. */
  text: string;
  /** UTF-16 range of the selected part of `text`. */
  selection: { start: number; end: number };
  /** Document position of every offset 0..text.length of `text` (for tints and hovers). */
  positions: Position[];
  /** The file's `experts` lines (expert interventions the probe applies), when it has any. */
  experts?: ExpertLine[];
}

export interface PromptTargetParams {
  /** The prompt file's text. */
  source: string;
  /**
   * Either a selection (document positions; the value holding its start is chosen, the selection
   * clipped to it) or a whole value found by its text and where it starts (a code lens's argument).
   */
  find: { selection: Range } | { value: { text: string; start: Position } };
}

/** Client -> host request: the prompt-file text value under a selection, or named by a lens; null when none. */
export namespace PromptTargetRequest {
  export const method = "introspect/promptFile/target" as const;
  export const type = new RequestType<PromptTargetParams, PromptTextTarget | null, void>(method);
}

export interface PromptBlocksParams {
  source: string;
  /** The cursor; line -1 when there is none (the file's first prompt block is then the prompt). */
  position: Position;
}

export interface PromptBlocksResult {
  /** The prompt block under the cursor with non-blank text, else the file's first such block. */
  prompt?: { text: string; name?: string };
  /** The patch block around the cursor, when it names both prompts: its answers, sites and layers. */
  patch?: PatchSpec;
  /** The file's `experts` lines (expert interventions steering applies), when it has any. */
  experts?: ExpertLine[];
}

/** Client -> host request: the prompt and patch blocks under the cursor (steering panel's prompt, patching's experiment). */
export namespace PromptBlocksRequest {
  export const method = "introspect/promptFile/blocks" as const;
  export const type = new RequestType<PromptBlocksParams, PromptBlocksResult, void>(method);
}

/** Client -> host request: the file's `model` option as written (fileModel.ts resolves it), or null when it has none. */
export namespace PromptModelRequest {
  export const method = "introspect/promptFile/model" as const;
  export const type = new RequestType<{ source: string }, string | null, void>(method);
}

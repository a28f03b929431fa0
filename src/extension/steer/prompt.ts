// Which prompt the steering panel starts from, pure (no vscode): the selection when there is one;
// in a prompt file the prompt block under the cursor, else the file's first prompt block (the
// host finds them: PromptBlocksRequest).
import type { PromptBlocksResult } from "../../protocol/promptQueries";

export interface EditorLike {
  text: string;
  languageId: string;
  fileName: string;
  /** Selected text ("" when the selection is empty). */
  selected: string;
  cursorLine: number;
}

export function defaultPrompt(e: EditorLike, blocks?: PromptBlocksResult): { prompt: string; source: string } | undefined {
  if (e.selected.trim()) return { prompt: e.selected, source: "selection" };
  if (e.languageId !== "introspect" && !e.fileName.endsWith(".introspect")) return undefined;
  const under = blocks?.prompt;
  if (!under) return undefined;
  const base = e.fileName.split(/[\\/]/).pop() ?? e.fileName;
  return { prompt: under.text, source: `${base}: ${under.name ?? "prompt"}` };
}

// Which prompt the steering panel starts from, pure (no vscode): the selection when there is one;
// in a prompt file the prompt block under the cursor, else the file's first prompt block.
import { parsePromptFile } from "../../engine/promptfile";
import { interventionsFromFile } from "../../engine/experts/fromFile";
import type { ExpertIntervention } from "../../engine/experts/types";

export interface EditorLike {
  text: string;
  languageId: string;
  fileName: string;
  /** Selected text ("" when the selection is empty). */
  selected: string;
  cursorLine: number;
}

export function defaultPrompt(e: EditorLike): { prompt: string; source: string } | undefined {
  if (e.selected.trim()) return { prompt: e.selected, source: "selection" };
  if (e.languageId !== "introspect" && !e.fileName.endsWith(".introspect")) return undefined;
  const prompts = parsePromptFile(e.text).blocks.filter((b) => b.kind === "prompt" && b.text && b.text.text.trim());
  const under = prompts.find((b) => b.range.start.line <= e.cursorLine && e.cursorLine <= b.range.end.line) ?? prompts[0];
  if (!under || under.kind !== "prompt" || !under.text) return undefined;
  const base = e.fileName.split(/[\\/]/).pop() ?? e.fileName;
  return { prompt: under.text.text, source: `${base}: ${under.name?.value ?? "prompt"}` };
}

/** A prompt file's `experts` lines as interventions (none for other files). */
export function fileExperts(e: Pick<EditorLike, "text" | "languageId" | "fileName">, numExperts: number): ExpertIntervention[] {
  if (e.languageId !== "introspect" && !e.fileName.endsWith(".introspect")) return [];
  const lines = parsePromptFile(e.text).options.experts ?? [];
  return interventionsFromFile(
    lines.map((l) => l.value),
    numExperts,
  );
}

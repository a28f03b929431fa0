// Activation-shift scores in prompt files: a diagnostic on every prompt of a file that names a
// `shift-reference` (information below the threshold, warning above it) and a code lens with the
// score. Pure: the scores come from the host's ShiftScores (src/server/shiftScores.ts).
import { Diagnostic, DiagnosticSeverity, type CodeLens } from "vscode-languageserver";
import type { PromptFile } from "../../engine";

export interface ShiftScore {
  score: number;
  threshold: number;
  layer: number;
  /** How many benign prompts the reference holds, and its file as written in the option. */
  references: number;
  file: string;
}

/** Per prompt block name: its score; or a sentence saying why there are none. */
export type ShiftScores = Map<string, ShiftScore> | { error: string };

export function shiftDiagnostics(file: PromptFile, scores: ShiftScores | undefined): Diagnostic[] {
  const opt = file.options.shiftReference;
  if (!opt || !scores) return [];
  if (!(scores instanceof Map))
    return [
      { range: opt.range, severity: DiagnosticSeverity.Warning, source: "introspect", code: "shift-reference", message: scores.error },
    ];
  const out: Diagnostic[] = [];
  for (const block of file.blocks) {
    if (block.kind !== "prompt" || !block.name || !block.text) continue;
    const s = scores.get(block.name.value);
    if (!s) continue;
    const above = s.score > s.threshold;
    out.push({
      range: block.text.range,
      severity: above ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
      source: "introspect",
      code: above ? "activation-shift" : "activation-shift-ok",
      message: `Activation shift ${s.score.toFixed(1)} at layer ${s.layer} (threshold ${s.threshold.toFixed(1)}, from ${s.references} benign prompts in ${s.file}): ${
        above ? "above the threshold, this prompt is unlike the benign ones." : "within the benign range."
      }`,
    });
  }
  return out;
}

export function shiftLenses(file: PromptFile, scores: ShiftScores | undefined): CodeLens[] {
  if (!file.options.shiftReference || !(scores instanceof Map)) return [];
  const out: CodeLens[] = [];
  for (const block of file.blocks) {
    const s = block.kind === "prompt" && block.name ? scores.get(block.name.value) : undefined;
    if (!s) continue;
    const mark = s.score > s.threshold ? "$(warning) " : "";
    out.push({
      range: block.headerRange,
      command: { title: `${mark}Shift ${s.score.toFixed(1)} / ${s.threshold.toFixed(1)} (layer ${s.layer})`, command: "" },
    });
  }
  return out;
}

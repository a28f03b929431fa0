// Code lenses above each block: "Probe", "Build steering vector" (+ "Open in steering panel"
// once built), "Run patching". They run client commands (src/protocol/promptFile.ts) with the
// block's name and its parsed content, so the extension does not parse the file again.
import { DiagnosticSeverity, type CodeLens } from "vscode-languageserver";
import { toContrastSpec, toPatchSpec, type PromptFile } from "../../engine";
import {
  PromptFileCommands,
  type BlockRef,
  type BuildVectorArgs,
  type OpenVectorArgs,
  type ProbeTextArgs,
  type RunPatchingArgs,
} from "../../protocol/promptFile";
import { computeDiagnostics } from "./diagnostics";
import { DEFAULT_SETTINGS, type LanguageModelFacade } from "./facade";

export function computeCodeLenses(uri: string, file: PromptFile, facade: LanguageModelFacade | undefined): CodeLens[] {
  const lenses: CodeLens[] = [];
  // Errors from the parser and from the model checks (a two-token answer, a missing layer):
  // the run would fail on them, so the lens says so instead.
  const errors = computeDiagnostics(file, facade, DEFAULT_SETTINGS).filter((d) => d.severity === DiagnosticSeverity.Error);
  const hasErrors = (line0: number, line1: number) => errors.some((d) => d.range.start.line >= line0 && d.range.start.line <= line1);
  for (const block of file.blocks) {
    const name = block.name?.value;
    if (!name) continue;
    const ref: BlockRef = { uri, blockName: name, ...(file.options.model ? { model: file.options.model.value } : {}) };
    const range = block.headerRange;
    // A block with errors gets a lens that says so instead of one that would fail.
    const broken = hasErrors(block.range.start.line, block.range.end.line);
    const lens = (title: string, command: string, arg: unknown): CodeLens =>
      broken
        ? { range, command: { title: `${title} (fix the errors first)`, command: "" } }
        : { range, command: { title, command, arguments: [arg] } };
    switch (block.kind) {
      case "prompt":
        if (block.text) {
          const args: ProbeTextArgs = { ...ref, text: block.text.text, range: block.text.range };
          lenses.push(lens("$(search) Probe", PromptFileCommands.probeText, args));
        }
        break;
      case "contrast": {
        const args: BuildVectorArgs = { ...ref, spec: toContrastSpec(block) };
        lenses.push(lens("$(symbol-event) Build steering vector", PromptFileCommands.buildVector, args));
        // The expert ranking: on mixture-of-experts models, or where the block says what it counts.
        if (facade?.info()?.numExperts || block.count)
          lenses.push(lens("$(list-ordered) Rank experts", PromptFileCommands.rankExperts, ref));
        const built = facade?.builtVector?.(uri, name);
        if (built) {
          const open: OpenVectorArgs = { ...ref, vectorId: built.id };
          lenses.push({ range, command: { title: "Open in steering panel", command: PromptFileCommands.openVector, arguments: [open] } });
        }
        break;
      }
      case "patch": {
        const spec = toPatchSpec(block);
        if (spec) {
          const args: RunPatchingArgs = { ...ref, spec };
          lenses.push(lens("$(debug-alt) Run patching", PromptFileCommands.runPatching, args));
        }
        if (block.clean) {
          const probe: ProbeTextArgs = { ...ref, text: block.clean.text, range: block.clean.range };
          lenses.push(lens("Probe clean", PromptFileCommands.probeText, probe));
        }
        break;
      }
      case "options":
        break;
    }
  }
  return lenses;
}

// Inlay hints (off by default: introspect.inlayHints.nextToken): the model's next-token
// prediction and its probability at the end of each prompt. Each hint is a forward pass, so
// only prompts inside the visible range are predicted, at most MAX_HINTS, and cancellation
// is checked between them.
import { InlayHintKind, type InlayHint, type Range } from "vscode-languageserver";
import { textOffsetToPosition, textsOf, type PromptFile } from "../../engine";
import type { CancelToken } from "../../engine";
import type { LanguageModelFacade, LanguageSettings } from "./facade";

export const MAX_HINTS = 32;

export async function computeInlayHints(
  file: PromptFile,
  range: Range,
  facade: LanguageModelFacade | undefined,
  settings: LanguageSettings,
  cancel: CancelToken,
): Promise<InlayHint[]> {
  if (!settings.inlayNextToken || !facade?.predictNext) return [];
  const hints: InlayHint[] = [];
  for (const block of file.blocks) {
    if (block.range.end.line < range.start.line || block.range.start.line > range.end.line) continue;
    for (const { role, value } of textsOf(block)) {
      if (role !== "prompt" && role !== "clean" && role !== "corrupt") continue;
      if (hints.length >= MAX_HINTS || cancel.isCancellationRequested) return hints;
      let next;
      try {
        next = await facade.predictNext(value.text, cancel);
      } catch {
        continue; // a failed prediction leaves this prompt without a hint; diagnostics say why
      }
      if (!next) continue;
      hints.push({
        position: textOffsetToPosition(value, value.text.length),
        label: `→ ${JSON.stringify(next.text)} ${formatProb(next.prob)}`,
        kind: InlayHintKind.Type,
        paddingLeft: true,
        tooltip: `Most likely next token (id ${next.id}) with probability ${next.prob.toFixed(4)}${facade.info() ? ` on ${facade.info()!.id}` : ""}.`,
      });
    }
  }
  return hints;
}

export function formatProb(p: number): string {
  if (!(p >= 0)) return "?";
  return p >= 0.995 ? "100%" : p >= 0.001 ? `${(p * 100).toFixed(p >= 0.1 ? 0 : 1)}%` : "<0.1%";
}

// Checks on a whole block that need no model: required parts present, contrast sets
// non-empty and balanced when paired. Model-dependent checks live in the language features.
import type { Block, ParseDiagnostic, Range } from "./model";

export function checkBlock(block: Block): ParseDiagnostic[] {
  const out: ParseDiagnostic[] = [];
  const at: Range = block.name?.range ?? block.keyword.range;
  const label = block.name ? `'${block.name.value}'` : "This block";
  const error = (range: Range, message: string, code: string) => out.push({ range, message, severity: "error", code });
  switch (block.kind) {
    case "prompt":
      if (!block.text || block.text.text.trim() === "") {
        error(at, `Prompt ${label} has no text: write it on indented lines below the header.`, "empty-prompt");
      }
      break;
    case "patch":
      if (!block.clean) error(at, `Patching experiment ${label} needs a \`clean\` prompt.`, "missing-clean");
      if (!block.corrupt) error(at, `Patching experiment ${label} needs a \`corrupt\` prompt.`, "missing-corrupt");
      if (block.answer && block.wrong && block.answer.text === block.wrong.text) {
        out.push({
          range: block.wrong.range,
          message: "The wrong answer equals the correct one, so the logit difference is always zero.",
          severity: "warning",
          code: "same-answers",
        });
      }
      break;
    case "contrast": {
      const pos = block.positive.length;
      const neg = block.negative.length;
      if (pos === 0) error(at, `Contrast set ${label} has no positive prompts: add lines starting with '+'.`, "no-positive");
      if (neg === 0) error(at, `Contrast set ${label} has no negative prompts: add lines starting with '-'.`, "no-negative");
      const pca = block.method?.value === "pca";
      if (pca && block.paired?.value === false) {
        error(block.paired.range, "PCA works on paired differences: set `paired yes` or use `method diffmeans`.", "pca-unpaired");
      }
      const paired = block.paired?.value ?? pca;
      if (paired && pos > 0 && neg > 0 && pos !== neg) {
        const extra = pos > neg ? block.positive[neg] : block.negative[pos];
        error(
          extra.range,
          `Paired contrast set ${label} has ${pos} positive and ${neg} negative prompts; the n-th '+' pairs with the n-th '-'. This ${pos > neg ? "positive" : "negative"} prompt has no partner.`,
          "unbalanced",
        );
      }
      break;
    }
    case "options":
      break;
  }
  return out;
}

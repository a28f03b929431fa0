// introspect sparsity: MLP activation sparsity per layer (exact zeros, below a threshold) and
// PPL-p% sparsity found by binary search with an edited graph that zeroes small activations.

import { FIDELITY_TEXTS } from "../engine";
import { pplSparsity, sparsityPerLayer, type PplSparsity } from "../engine";
import { type Command, intOption, numOption, readTextOption, required, table, threadsOption } from "./common";
import { MODEL_HELP, modelOptions, openFromOptions } from "./model";

export const sparsityCommand: Command = {
  name: "sparsity",
  summary: "MLP activation sparsity per layer, and PPL-p% sparsity",
  help: `introspect sparsity --model PATH [--text-file FILE] [--threshold T] [--p 1,5] [--json]

Measures the MLP activations (mlp.hook_post, the input of each layer's down projection) over a
text set: per layer the share exactly 0 (ReLU models) and the share with |x| < T. Then PPL-p%
sparsity: the largest share of the smallest activations (one magnitude threshold for every
layer, in steps of 1% of the pooled magnitudes) that can be set to 0 while the perplexity over
the texts rises at most p%, found by binary search, each step a run of a graph that zeroes them.

${MODEL_HELP}
  --text-file FILE  the text set: paragraphs separated by blank lines (default: a built-in set
                    of six everyday texts)
  --text TEXT       one text instead
  --threshold T     magnitude for the below-threshold share (default 0.01)
  --p LIST          perplexity rises to allow, in percent (default 1,5); 0 skips the search
  --steps N         quantile steps of the search (default 100)
  --json            print JSON: layers [{layer, exactZero, belowThreshold, ppl: {p: share}}],
                    ppl [{p, baseline, found, next, tried}]`,
  options: modelOptions(["text", "text-file", "threshold", "p", "steps"], ["json"]),
  async run(values, io) {
    const modelPath = required(values, "model", "sparsity");
    const texts =
      values.text === undefined && values["text-file"] === undefined
        ? [...FIDELITY_TEXTS]
        : (await readTextOption(values, io, "sparsity"))
            .split(/\n\s*\n/)
            .map((t) => t.trim())
            .filter(Boolean);
    const threshold = numOption(values, "threshold", "sparsity", 0.01);
    const ps = ((values.p as string | undefined) ?? "1,5")
      .split(",")
      .map((x) => Number(x.trim()))
      .filter((x) => x > 0);
    const steps = intOption(values, "steps", "sparsity", 100, 2, 10000);
    const { model, tok } = await openFromOptions(modelPath, values, threadsOption(values, "sparsity"), io.err);
    try {
      const layers = await sparsityPerLayer(model, tok, texts, threshold, io.cancel);
      const ppl: PplSparsity[] = [];
      for (const p of ps) {
        ppl.push(
          await pplSparsity(model, tok, texts, p, {
            steps,
            cancel: io.cancel,
            onStep: (s) => io.err(`p=${p}%: zeroing ${(100 * s.share).toFixed(1)}% gives perplexity ${s.ppl.toFixed(4)}\n`),
          }),
        );
      }
      if (values.json) {
        io.out(
          JSON.stringify({
            model: model.info.id,
            texts: texts.length,
            threshold,
            layers: layers.map((l, i) => ({ ...l, ppl: Object.fromEntries(ppl.map((r) => [r.p, r.found.perLayer[i]])) })),
            ppl,
          }) + "\n",
        );
        return 0;
      }
      const rows = [["layer", "values", "exact 0", `|x|<${threshold}`, ...ppl.map((r) => `PPL-${r.p}%`)]];
      layers.forEach((l, i) =>
        rows.push([
          String(l.layer),
          String(l.values),
          pct(l.exactZero),
          pct(l.belowThreshold),
          ...ppl.map((r) => pct(r.found.perLayer[i])),
        ]),
      );
      const lines = [`${model.info.id}: MLP activations over ${texts.length} texts`, table(rows, [0, 1, 2, 3, 4, 5, 6])];
      for (const r of ppl)
        lines.push(
          `PPL-${r.p}% sparsity ${pct(r.found.share)}: |x| < ${r.found.threshold.toPrecision(4)} zeroed, perplexity ${r.baseline.toFixed(4)} -> ${r.found.ppl.toFixed(4)}` +
            (r.next ? ` (the next step, ${pct(r.next.share)}, gives ${r.next.ppl.toFixed(4)})` : " (every step stays within the bound)"),
        );
      io.out(lines.join("\n") + "\n");
      return 0;
    } finally {
      await model.dispose();
    }
  },
};

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

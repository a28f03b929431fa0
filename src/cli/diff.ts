// introspect diff: two models of one architecture on the same text, layer by layer and token by token.

import { diffModels, type ModelDiff } from "../engine";
import { type Command, clip, quoteToken, readTextOption, required, table, threadsOption } from "./common";
import { MODEL_HELP, modelOptions, openFromOptions, type Opened } from "./model";

export const diffCommand: Command = {
  name: "diff",
  summary: "compare two models of one architecture on the same text (fine-tuned, quantised)",
  help: `introspect diff --model A --model-b B --text TEXT [--json]

Runs TEXT through model A (the reference) and model B and compares them at every layer's output
(hook_resid_post) and token: the norm of the difference, the cosine between the two, and the
relative difference |a - b| / |a|; and at every token the KL divergence KL(P_A || P_B) between the
two next-token distributions and whether their top-1 tokens agree. The summary line names the
layer where the relative difference grows most and the token where it is largest there.
The two models must have the same layer count, width, vocabulary and tokenization of TEXT.

${MODEL_HELP}
  --model-b PATH    the model to compare with A (a folder, or the same folder with --variant-b)
  --variant-b NAME  B's variant (default: --variant); --model-b defaults to --model
  --text TEXT       the text; "-" reads standard input
  --text-file FILE  read the text from FILE instead
  --json            print JSON: a, b, tokens, sites, layers [{layer, site, meanRelative, norm,
                    cosine, relative (per token)}], tokensDiff [{kl, top1A, top1B}], summary`,
  options: modelOptions(["model-b", "variant-b", "text", "text-file"], ["json"]),
  async run(values, io) {
    const pathA = required(values, "model", "diff");
    const pathB = (values["model-b"] as string | undefined) ?? pathA;
    const variantA = values.variant as string | undefined;
    const variantB = (values["variant-b"] as string | undefined) ?? variantA;
    const text = await readTextOption(values, io, "diff");
    const threads = threadsOption(values, "diff");
    // Both models run on one provider: a fallback is said once.
    const said = new Set<string>();
    const warn = (line: string) => void (said.has(line) || (said.add(line), io.err(line)));
    const a = await openFromOptions(pathA, values, threads, warn);
    let b: Opened | undefined;
    try {
      b = await openFromOptions(pathB, { ...values, variant: variantB }, threads, warn);
      const d = await diffModels(a, b, text, io.cancel);
      io.out(values.json ? JSON.stringify(diffJson(d)) + "\n" : diffTable(d) + "\n");
      return 0;
    } finally {
      await a.model.dispose();
      await b?.model.dispose();
    }
  },
};

export function diffJson(d: ModelDiff) {
  const T = d.tokens.length;
  const per = (x: Float32Array, l: number) => Array.from(x.subarray(l * T, (l + 1) * T));
  return {
    a: d.a,
    b: d.b,
    tokens: d.tokens,
    embedRelative: d.embedRelative,
    layers: d.sites.map((site, layer) => ({
      layer,
      site,
      meanRelative: d.meanRelative[layer],
      norm: per(d.norm, layer),
      cosine: per(d.cosine, layer),
      relative: per(d.relative, layer),
    })),
    tokensDiff: d.tokens.map((_, t) => ({ kl: d.kl[t], top1A: d.top1A[t], top1B: d.top1B[t], agree: d.top1A[t] === d.top1B[t] })),
    summary: d.summary,
  };
}

function diffTable(d: ModelDiff): string {
  const T = d.tokens.length;
  const layers = [["layer", "mean |a-b|", "mean cos", "mean rel", "max rel", "at token"]];
  for (let l = 0; l < d.layers; l++) {
    const rel = d.relative.subarray(l * T, (l + 1) * T);
    let at = 0;
    for (let t = 1; t < T; t++) if (rel[t] > rel[at]) at = t;
    const m = (x: Float32Array) => x.subarray(l * T, (l + 1) * T).reduce((s, v) => s + v, 0) / T;
    layers.push([
      String(l),
      m(d.norm).toPrecision(4),
      m(d.cosine).toFixed(5),
      d.meanRelative[l].toPrecision(4),
      rel[at].toPrecision(4),
      `${at} ${clip(quoteToken(d.tokens[at].text), 16)}`,
    ]);
  }
  const toks = [["pos", "token", "KL", `top-1 ${clip(d.a, 12)}`, `top-1 ${clip(d.b, 12)}`, ""]];
  d.tokens.forEach((tk, t) =>
    toks.push([
      String(t),
      clip(quoteToken(tk.text), 16),
      d.kl[t].toExponential(2),
      String(d.top1A[t]),
      String(d.top1B[t]),
      d.top1A[t] === d.top1B[t] ? "" : "differs",
    ]),
  );
  return [
    `${d.b} against ${d.a}, ${T} tokens; per layer (hook_resid_post):`,
    table(layers, [0, 1, 2, 3, 4]),
    "",
    "per token (next-token distributions):",
    table(toks, [0, 2, 3, 4]),
    "",
    d.summary.text,
  ].join("\n");
}

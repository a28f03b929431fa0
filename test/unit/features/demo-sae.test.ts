// The SAE shipped with demo-llama (models/demo-llama/saes/blocks.2.hook_resid_post): on the IOI
// prompt of demo/ioi.introspect its strongest features include one that fires on the names; the
// feature that best separates demo/sentiment.introspect's positive from negative reviews, clamped
// high while generating from a negative review, changes the continuation toward positive words.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  collectActivations,
  decoderDirection,
  encode,
  fitToModel,
  generateClamped,
  loadDictionary,
  measureQuality,
  readCorpus,
  readFeatures,
  scanCorpus,
  type Dictionary,
} from "../../../src/engine";
import { buildFromContrast } from "../../../src/engine";
import { toContrastSpec } from "../../../src/engine";
import type { ContrastBlock, PromptBlock } from "../../../src/engine";
import { ROOT, demoBlock, useDemoModel } from "../helpers/demoModel";

const SAE = path.join(ROOT, "models/demo-llama/saes/blocks.2.hook_resid_post");
// The demo corpus's 60 names, read from its generator.
const NAMES = new Set(
  /^NAMES = \[([^\]]*)\]/m
    .exec(fs.readFileSync(path.join(ROOT, "tools/models/corpus.py"), "utf8"))![1]
    .match(/"([^"]+)"/g)!
    .map((s) => s.slice(1, -1)),
);
const POSITIVE = [
  "wonderful",
  "great",
  "good",
  "lovely",
  "excellent",
  "amazing",
  "fantastic",
  "perfect",
  "delightful",
  "enjoyable",
  "happy",
];

describe("features/demo-llama's shipped SAE", function () {
  this.timeout(120_000);
  const demo = useDemoModel();
  let d: Dictionary;
  before(() => {
    d = loadDictionary(SAE);
    fitToModel(d, demo.model.info, demo.model.resolved.folder);
  });

  it("among the top features on the IOI prompt, one fires on the names (and its top corpus activations are names)", async () => {
    const { model, tok } = demo;
    const block = demoBlock<PromptBlock>("ioi.introspect", "store");
    const tokens = tok.encode(block.text!.text);
    const { captures } = await model.run({ ids: tokens.map((t) => t.id), capture: [d.site] });
    const r = readFeatures(d, captures, { rows: 10 });
    const isName = tokens.map((t) => NAMES.has(t.text.trim()));
    assert.strictEqual(isName.filter(Boolean).length, 3, "Mary, John, John");
    const texts = readCorpus(path.join(ROOT, "models/data/feature-corpus.jsonl")).slice(0, 300);
    const scan = await scanCorpus(model, tok, d, texts, { topN: 10 });
    const scored = r.features.map((f, i) => {
      const row = r.matrix.subarray(i * r.tokens, (i + 1) * r.tokens);
      const onNames = [...row].filter((v, t) => isName[t] && v > 0).length;
      const corpusNames = scan.features[f].top.filter((s) => NAMES.has(s.token.trim())).length;
      return { f, onNames, corpusNames, top: scan.features[f].top.map((s) => s.token).join("|") };
    });
    console.log(
      `      top features: ${scored.map((s) => `#${s.f} on ${s.onNames}/3 names, corpus top-10 names ${s.corpusNames}`).join("; ")}`,
    );
    const names = scored.find((s) => s.onNames > 0 && s.corpusNames >= 8);
    assert.ok(names, "no top feature fires on a name here and mostly on names in the corpus");
    console.log(`      names feature #${names.f}: corpus top tokens ${names.top}`);
  });

  it("clamping the sentiment feature turns a negative review's continuation positive", async () => {
    const { model, tok } = demo;
    const spec = toContrastSpec(demoBlock<ContrastBlock>("sentiment.introspect", "sentiment"));
    const enc = (s: string) => tok.encode(s).map((t) => t.id);
    // The sentiment feature: the one whose decoder direction is closest to the difference of means.
    const v = await buildFromContrast(model, {
      name: "sentiment",
      site: d.site,
      positive: spec.positive.map(enc),
      negative: spec.negative.map(enc),
      method: "mean-diff",
      pooling: spec.position,
      normalise: false,
    });
    const norm = Math.hypot(...v.data);
    let best = 0;
    let bestCos = -1;
    for (let j = 0; j < d.dSae; j++) {
      const row = decoderDirection(d, j);
      let c = 0;
      for (let i = 0; i < row.length; i++) c += row[i] * v.data[i];
      if (c / norm > bestCos) [best, bestCos] = [j, c / norm];
    }
    const stats = async (texts: string[]) => {
      let sum = 0;
      let n = 0;
      let max = 0;
      for (const text of texts) {
        const x = (await model.run({ ids: enc(text), capture: [d.site] })).captures.get(d.site)!;
        const f = encode(d, x.data);
        for (let p = 0; p < f.length / d.dSae; p++, n++) {
          sum += f[p * d.dSae + best];
          max = Math.max(max, f[p * d.dSae + best]);
        }
      }
      return { mean: sum / n, max };
    };
    const pos = await stats(spec.positive);
    const neg = await stats(spec.negative);
    assert.ok(pos.mean > 2 * neg.mean, `feature #${best} fires more on positive reviews: ${pos.mean} vs ${neg.mean}`);
    const prompt = enc("I hated this movie. It was");
    const value = 3 * pos.max;
    const base = await generateClamped(model, d, prompt, { feature: best, value: undefined, maxNewTokens: 6 });
    const clamped = await generateClamped(model, d, prompt, { feature: best, value, maxNewTokens: 6 });
    const text = (ids: number[]) => tok.decode(ids);
    console.log(
      `      sentiment feature #${best} (cosine ${bestCos.toFixed(2)} with the difference of means; mean ${pos.mean.toFixed(2)} on positive, ${neg.mean.toFixed(2)} on negative reviews), clamped to ${value.toFixed(2)}`,
    );
    console.log(`      model: "${text(base)}" | clamped: "${text(clamped)}"`);
    assert.notDeepStrictEqual(clamped, base, "clamping changes the continuation");
    assert.ok(
      POSITIVE.some((w) => text(clamped).toLowerCase().includes(w)),
      `a positive word in "${text(clamped)}"`,
    );
    assert.ok(!POSITIVE.some((w) => text(base).toLowerCase().includes(w)), `the unclamped continuation "${text(base)}" has none`);
  });

  it("its recorded explained variance and L0 are what it gives on held-out corpus text", async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAE, "cfg.json"), "utf8")).metadata;
    assert.ok(meta.explained_variance_heldout > 0.7 && meta.l0_heldout <= 16, JSON.stringify(meta));
    const texts = readCorpus(path.join(ROOT, "models/data/feature-corpus.jsonl")).slice(-200);
    const acts = await collectActivations(
      demo.model,
      texts.map((t) => demo.tok.encode(t).map((x) => x.id)),
      d.site,
    );
    const q = measureQuality(d, acts.data);
    assert.ok(
      Math.abs(q.explainedVariance - meta.explained_variance_heldout) < 1e-3 && Math.abs(q.l0 - meta.l0_heldout) < 0.01,
      `${JSON.stringify(q)}`,
    );
  });
});

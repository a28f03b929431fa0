// The SAE shipped with demo-llama (models/demo-llama/saes/blocks.2.hook_resid_post): on the IOI
// prompt of demo/ioi.introspect its strongest features include one that fires on the names; the
// feature that best separates demo/sentiment.introspect's positive from negative reviews, clamped
// high while generating from a negative review, changes the continuation toward positive words.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
  encode,
  fitToModel,
  generateClamped,
  loadDictionary,
  measureQuality,
  readFeatures,
  type Dictionary,
} from "../../../src/engine/features";
import { toContrastSpec } from "../../../src/engine/promptfile";
import type { ContrastBlock, PromptBlock } from "../../../src/engine/promptfile/model";
import { ROOT, demoBlock, useDemoModel } from "../helpers/demoModel";

const SAE = path.join(ROOT, "models/demo-llama/saes/blocks.2.hook_resid_post");
const NAMES = new Set(["Mary", "John"]);
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

  it("among the top features on the IOI prompt, one fires on the names", async () => {
    const { model, tok } = demo;
    const block = demoBlock<PromptBlock>("ioi.introspect", "store");
    const tokens = tok.encode(block.text!.text);
    const { captures } = await model.run({ ids: tokens.map((t) => t.id), capture: [d.site] });
    const r = readFeatures(d, captures, { rows: 10 });
    const isName = tokens.map((t) => NAMES.has(t.text.trim()));
    assert.strictEqual(isName.filter(Boolean).length, 3, "Mary, John, John");
    const scored = r.features.map((f, i) => {
      const row = r.matrix.subarray(i * r.tokens, (i + 1) * r.tokens);
      const onNames = [...row].filter((_, t) => isName[t]);
      const offNames = [...row].filter((_, t) => !isName[t]);
      return {
        f,
        namesFired: onNames.filter((v) => v > 0).length,
        othersFired: offNames.filter((v) => v > 0).length,
        others: offNames.length,
      };
    });
    const nameFeature = scored.find((s) => s.namesFired === 3 && s.othersFired <= 0.15 * s.others);
    console.log(
      `      top features: ${scored.map((s) => `#${s.f} names ${s.namesFired}/3 others ${s.othersFired}/${s.others}`).join(", ")}`,
    );
    assert.ok(nameFeature, "no top feature fires on all three names and on few other tokens");
  });

  it("clamping the sentiment feature turns a negative review's continuation positive", async () => {
    const { model, tok } = demo;
    const spec = toContrastSpec(demoBlock<ContrastBlock>("sentiment.introspect", "sentiment"));
    const meanOf = async (texts: string[]) => {
      const sum = new Float64Array(d.dSae);
      let n = 0;
      for (const text of texts) {
        const ids = tok.encode(text).map((t) => t.id);
        const x = (await model.run({ ids, capture: [d.site] })).captures.get(d.site)!;
        const f = encode(d, x.data);
        for (let i = 0; i < f.length; i++) sum[i % d.dSae] += f[i];
        n += ids.length;
      }
      return sum.map((v) => v / n);
    };
    const pos = await meanOf(spec.positive);
    const neg = await meanOf(spec.negative);
    let best = 0;
    for (let j = 1; j < d.dSae; j++) if (pos[j] - neg[j] > pos[best] - neg[best]) best = j;
    const prompt = tok.encode("I hated this movie. It was").map((t) => t.id);
    const plain = await generateClamped(model, d, prompt, { feature: best, value: 0, maxNewTokens: 6 });
    // Clamped to zero is not "unclamped": compare with the model's own greedy continuation too.
    const seq = [...prompt];
    for (let i = 0; i < 6; i++) {
      const { logits } = await model.run({ ids: seq });
      const v = logits.dims[1];
      let arg = 0;
      for (let k = 1; k < v; k++) if (logits.data[(seq.length - 1) * v + k] > logits.data[(seq.length - 1) * v + arg]) arg = k;
      seq.push(arg);
    }
    const base = seq.slice(prompt.length);
    const typical = Math.max(
      ...(await (async () => {
        const x = (await model.run({ ids: tok.encode(spec.positive[0]).map((t) => t.id), capture: [d.site] })).captures.get(d.site)!;
        const f = encode(d, x.data);
        return [...f].filter((_, i) => i % d.dSae === best);
      })()),
    );
    const clamped = await generateClamped(model, d, prompt, { feature: best, value: 2 * typical, maxNewTokens: 6 });
    const text = (ids: number[]) => tok.decode(ids);
    console.log(
      `      sentiment feature #${best} (pos ${pos[best].toFixed(2)} vs neg ${neg[best].toFixed(2)}), clamp ${(2 * typical).toFixed(2)}`,
    );
    console.log(`      model: "${text(base)}" | clamped 0: "${text(plain)}" | clamped high: "${text(clamped)}"`);
    assert.notDeepStrictEqual(clamped, base, "clamping changes the continuation");
    const words = text(clamped).toLowerCase();
    assert.ok(
      POSITIVE.some((w) => words.includes(w)),
      `a positive word in "${text(clamped)}"`,
    );
    assert.ok(!POSITIVE.some((w) => text(base).toLowerCase().includes(w)), `the unclamped continuation "${text(base)}" has none`);
  });

  it("its recorded explained variance and L0 are what it gives on held-out corpus text", async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAE, "cfg.json"), "utf8")).metadata;
    assert.ok(meta.explained_variance_heldout > 0.7 && meta.l0_heldout <= 16, JSON.stringify(meta));
    const { collectActivations, readCorpus } = await import("../../../src/engine/features");
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

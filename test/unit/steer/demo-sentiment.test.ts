// On demo-llama: the sentiment vector built from demo/sentiment.introspect raises the
// probability of positive words on the next token monotonically with the strength, and
// negative strengths lower it (raising the negative words).
import * as assert from "assert";
import { toContrastSpec } from "../../../src/engine";
import type { ContrastBlock } from "../../../src/engine";
import { buildFromContrast, wordTokenIds } from "../../../src/engine";
import { modelDecoderFactory } from "../../../src/engine";
import { steeringSweep } from "../../../src/engine";
import { probabilityMass } from "../../../src/engine";
import { demoBlock, useDemoModel } from "../helpers/demoModel";

const POSITIVE = ["wonderful", "great", "good", "lovely", "excellent", "amazing", "fantastic", "perfect", "delightful", "enjoyable"];
const NEGATIVE = ["awful", "terrible", "bad", "horrible", "boring", "dreadful", "disappointing", "poor", "sad", "dull"];

describe("steer/demo-llama sentiment", function () {
  const demo = useDemoModel();

  it("p(positive words) rises monotonically with strength, and falls for negative strengths", async () => {
    const { model, tok } = demo;
    const spec = toContrastSpec(demoBlock<ContrastBlock>("sentiment.introspect", "sentiment"));
    const layer = spec.layers[0] ?? 2;
    const site = `blocks.${layer}.hook_resid_post`;
    const enc = (s: string) => tok.encode(s).map((t) => t.id);
    const v = await buildFromContrast(model, {
      name: "sentiment",
      site,
      positive: spec.positive.map(enc),
      negative: spec.negative.map(enc),
      method: "mean-diff",
      pooling: spec.position,
      normalise: false,
    });
    const prompt = enc("The movie was");
    const pos = wordTokenIds(tok, POSITIVE);
    const neg = wordTokenIds(tok, NEGATIVE);
    assert.ok(pos.length >= 5 && neg.length >= 5, `word tokens: ${pos.length} positive, ${neg.length} negative`);
    // Strength in units of the raw difference of means (norm ~3.5 at layer 2 of demo-llama).
    const alphas = [-4, -3, -2, -1, 0, 1, 2, 3, 4];
    const factory = modelDecoderFactory(model, { prepare: [site] });
    const grid = await steeringSweep(factory, prompt, v, { alphas, score: { kind: "word-probability", ids: pos } });
    const p = Array.from(grid.scores);
    const zero = alphas.indexOf(0);
    const table = alphas.map((a, i) => `${a}: ${p[i].toFixed(4)}`).join(", ");
    for (let i = zero + 1; i < alphas.length; i++) assert.ok(p[i] > p[i - 1], `not rising at alpha ${alphas[i]}: ${table}`);
    for (let i = zero - 1; i >= 0; i--) assert.ok(p[i] < p[i + 1], `not falling at alpha ${alphas[i]}: ${table}`);
    assert.ok(p[p.length - 1] - p[zero] > 0.15 && p[zero] - p[0] > 0.15, `the effect should be large: ${table}`);
    // And the negative words move the other way.
    const negGrid = await steeringSweep(factory, prompt, v, { alphas: [-4, 0, 4], score: { kind: "word-probability", ids: neg } });
    assert.ok(
      negGrid.scores[0] > negGrid.scores[1] && negGrid.scores[1] > negGrid.scores[2],
      `negative words: ${Array.from(negGrid.scores)}`,
    );
    const base = await factory(new Map()).feed(prompt);
    assert.ok(Math.abs(probabilityMass(base, pos) - p[zero]) < 1e-6);
    console.log(`      p(positive words) by strength: ${table}`);
  });
});

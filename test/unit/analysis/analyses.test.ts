import * as assert from "assert";
import { activationShift, logitLensLayer, nextTokenIds, residualNorms } from "../../../src/engine/analysis/layerMetrics";
import { topNeurons } from "../../../src/engine/analysis/neurons";
import { expertUsage, routeTopK } from "../../../src/engine/analysis/moe";
import { massiveActivations } from "../../../src/engine/analysis/massive";
import { headPattern } from "../../../src/engine/analysis/attention";
import { ANALYSES } from "../../../src/engine";
import { ANALYSIS_VIEWS, panelViews } from "../../../src/engine/analysis/views";

const t = (dims: number[], ...v: number[]) => ({ dims, data: Float32Array.from(v) });
const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe("analysis/layer metrics", () => {
  it("residual norms over a token range", () => {
    const r = t([1, 3, 2], 3, 4, 0, 1, 6, 8);
    assert.deepStrictEqual(Array.from(residualNorms(r, { start: 1, end: 3 })), [1, 10]);
  });

  it("activation shift is the cosine distance per token", () => {
    const before = t([2, 2], 1, 0, 1, 1);
    const after = t([2, 2], 0, 1, 2, 2);
    const s = activationShift(before, after, { start: 0, end: 2 });
    close(s[0], 1);
    close(s[1], 0);
  });

  it("logit lens: top-k, next-token probability, entropy", () => {
    // Row 0 logits (0, ln 3, 0, 0): probs (1/6, 1/2, 1/6, 1/6). Row 1: uniform.
    const logits = t([2, 4], 0, Math.log(3), 0, 0, 5, 5, 5, 5);
    const lens = logitLensLayer(logits, { start: 0, end: 2 }, Int32Array.from([2, -1]), 2);
    assert.strictEqual(lens.k, 2);
    assert.deepStrictEqual(Array.from(lens.ids), [1, 0, 0, 1]);
    close(lens.probs[0], 0.5);
    close(lens.probs[1], 1 / 6);
    close(lens.nextProb[0], 1 / 6);
    assert.ok(Number.isNaN(lens.nextProb[1]));
    close(lens.entropy[0], -(0.5 * Math.log(0.5) + 3 * (1 / 6) * Math.log(1 / 6)), 1e-5);
    close(lens.entropy[1], Math.log(4), 1e-6);
  });

  it("next-token ids end with -1", () => {
    assert.deepStrictEqual(Array.from(nextTokenIds([7, 8, 9], { start: 1, end: 3 })), [9, -1]);
  });
});

describe("analysis/neurons", () => {
  it("ranks by max |activation| over the selection only, values over all tokens", () => {
    // 3 tokens x 3 neurons; selection = tokens 1..2. Token 0 has a huge neuron 0 that must not count.
    const a = t([3, 3], 100, 0, 0, 1, -5, 2, -2, 1, 3);
    const r = topNeurons(a, { start: 1, end: 3 }, 2);
    assert.deepStrictEqual(Array.from(r.neurons), [1, 2]);
    assert.deepStrictEqual(Array.from(r.maxAbs), [5, 3]);
    assert.deepStrictEqual(Array.from(r.values), [0, -5, 1, 0, 2, 3]);
    assert.strictEqual(r.dMlp, 3);
  });
});

describe("analysis/moe", () => {
  it("routes each token to its top-k experts with softmax probabilities", () => {
    // logits (ln 1, ln 2, ln 3, ln 4) -> probs (0.1, 0.2, 0.3, 0.4)
    const l = [0, Math.log(2), Math.log(3), Math.log(4)];
    const r = routeTopK(t([2, 4], ...l, ...l.slice().reverse()), { start: 0, end: 2 }, 2);
    assert.deepStrictEqual(Array.from(r.experts), [3, 2, 0, 1]);
    close(r.probs[0], 0.4);
    close(r.probs[1], 0.3);
    assert.deepStrictEqual(Array.from(expertUsage(r.experts, 4)), [1, 1, 1, 1]);
    assert.deepStrictEqual(Array.from(expertUsage(Int32Array.from([0, 0, 3]), 4)), [2, 0, 0, 1]);
  });
});

describe("analysis/massive", () => {
  it("flags dims above 100x the layer median with their tokens", () => {
    // 2 tokens x 4 dims, |values| median = 1; dim 2 hits 500 at token 1 only.
    const r = t([2, 4], 1, -1, 1, 1, 1, 1, 500, -1);
    const m = massiveActivations(r, 100);
    assert.strictEqual(m.length, 1);
    assert.deepStrictEqual(m[0], { dim: 2, maxAbs: 500, layerMedianAbs: 1, tokens: [1] });
    assert.strictEqual(massiveActivations(r, 1000).length, 0);
  });
});

describe("analysis/attention", () => {
  it("cuts one head's query rows of the selection with causal keys", () => {
    // [1, 2 heads, 3, 3]: head 1 values 10..18
    const data = Array.from({ length: 18 }, (_, i) => i);
    const p = headPattern(t([1, 2, 3, 3], ...data), 1, { start: 1, end: 3 });
    assert.deepStrictEqual(p.dims, [2, 3]);
    assert.deepStrictEqual(Array.from(p.data), [12, 13, 14, 15, 16, 17]);
    assert.throws(() => headPattern(t([1, 2, 3, 3], ...data), 2, { start: 0, end: 1 }), /2 heads/);
  });
});

describe("analysis/registry and the panel's views", () => {
  it("runs the analyses in the order of ANALYSIS_VIEWS, each with its view, and the panel lays out each view once", () => {
    assert.deepStrictEqual(
      ANALYSES.map((a) => a.name),
      Object.keys(ANALYSIS_VIEWS),
    );
    for (const a of ANALYSES) assert.strictEqual(a.view, ANALYSIS_VIEWS[a.name], a.name);
    assert.deepStrictEqual(panelViews(), ["layers", "lens", "neurons", "attention", "moe"]);
  });
});

import * as assert from "assert";
import {
  combine,
  makeVector,
  negate,
  normalise,
  scale,
  steerAdditions,
  sum,
  withLayerWeights,
  checkVectorFits,
  atLayer,
  l2norm,
} from "../../../src/engine";
import { diffOfMeans, fromPair, pcaOfPairs, pool } from "../../../src/engine";
import { ModelInfo } from "../../../src/engine";

const f = (...x: number[]) => Float32Array.from(x);
const info: ModelInfo = {
  id: "toy",
  architecture: "LlamaForCausalLM",
  numLayers: 4,
  dModel: 3,
  vocabSize: 10,
  sites: [0, 1, 2, 3].flatMap((l) => [`blocks.${l}.hook_resid_pre`, `blocks.${l}.hook_resid_post`]),
  hasKvCache: true,
  exportStyle: "torchscript",
  notes: [],
};
const base = { name: "a", modelId: "toy", site: "blocks.1.hook_resid_post" };

describe("steer/vector", () => {
  it("pools the last token or the mean over tokens, with or without a batch dimension", () => {
    const t = { dims: [1, 3, 2], data: f(1, 2, 3, 4, 5, 9) };
    assert.deepStrictEqual(Array.from(pool(t, "last")), [5, 9]);
    assert.deepStrictEqual(Array.from(pool(t, "mean")), [3, 5]);
    assert.deepStrictEqual(Array.from(pool({ dims: [3, 2], data: t.data }, "mean", [0, 1])), [2, 3]);
    assert.throws(() => pool({ dims: [2, 3, 2], data: new Float32Array(12) }, "last"), /one prompt/);
  });

  it("builds difference of means, raw and normalised", () => {
    const pos = [f(1, 2, 0), f(3, 2, 0)];
    const neg = [f(0, 0, 0), f(0, 2, 0)];
    const raw = diffOfMeans(pos, neg, { ...base, normalise: false });
    assert.deepStrictEqual(Array.from(raw.data), [2, 1, 0]);
    assert.strictEqual(raw.meta.method, "mean-diff");
    assert.strictEqual(raw.meta.normalised, false);
    const n = diffOfMeans(pos, neg, base);
    assert.ok(Math.abs(l2norm(n.data) - 1) < 1e-6);
    assert.ok(Math.abs(n.meta.rawNorm! - Math.sqrt(5)) < 1e-6);
    assert.ok(Math.abs(n.data[0] - 2 / Math.sqrt(5)) < 1e-6);
    const p = fromPair(f(1, 1, 1), f(1, 0, 1), { ...base, normalise: false });
    assert.deepStrictEqual(Array.from(p.data), [0, 1, 0]);
    assert.strictEqual(p.meta.method, "pair");
    assert.throws(() => diffOfMeans([f(1, 1, 1)], [f(1, 1, 1)], base), /identical/);
    assert.throws(() => diffOfMeans([], [f(1)], base), /positive set is empty/);
  });

  it("finds the first principal component of paired differences, sign fixed by the positive set", () => {
    // Differences spread mostly along u = (3, 4, 0)/5, plus a small orthogonal wobble.
    const u = [0.6, 0.8, 0];
    const scales = [1, 3, -0.5, 2, 5];
    const pos: Float32Array[] = [];
    const neg: Float32Array[] = [];
    scales.forEach((s, k) => {
      const n0 = f(k, -k, 2 * k);
      neg.push(n0);
      const w = k % 2 ? 0.05 : -0.05;
      pos.push(f(n0[0] + s * u[0], n0[1] + s * u[1], n0[2] + w));
    });
    for (const center of [true, false]) {
      const v = pcaOfPairs(pos, neg, { ...base, center });
      const dot = v.data[0] * u[0] + v.data[1] * u[1];
      assert.ok(dot > 0.999, `direction ${Array.from(v.data)} (center=${center})`);
      assert.ok(Math.abs(l2norm(v.data) - 1) < 1e-6);
    }
    // Swapping the sets flips the sign.
    const flipped = pcaOfPairs(neg, pos, base);
    assert.ok(flipped.data[0] * u[0] + flipped.data[1] * u[1] < -0.999);
    // Raw: scaled by the mean projection of the differences.
    const raw = pcaOfPairs(pos, neg, { ...base, normalise: false });
    const meanProj = scales.reduce((a, b) => a + b, 0) / scales.length;
    assert.ok(Math.abs(l2norm(raw.data) - meanProj) < 1e-3, `${l2norm(raw.data)} vs ${meanProj}`);
    // One pair: the difference itself.
    const one = pcaOfPairs([f(1, 1, 0)], [f(0, 0, 0)], base);
    assert.ok(Math.abs(one.data[0] - Math.SQRT1_2) < 1e-6 && Math.abs(one.data[1] - Math.SQRT1_2) < 1e-6);
    assert.throws(() => pcaOfPairs([f(1, 0, 0)], [f(0, 0, 0), f(1, 1, 1)], base), /as many negative/);
  });

  it("combines vectors and refuses mismatched ones", () => {
    const a = makeVector({ ...base, data: f(1, 2, 3) });
    const b = makeVector({ ...base, name: "b", data: f(1, 0, -1) });
    assert.deepStrictEqual(Array.from(sum(a, b).data), [2, 2, 2]);
    assert.deepStrictEqual(Array.from(scale(a, 2).data), [2, 4, 6]);
    assert.deepStrictEqual(Array.from(negate(a).data), [-1, -2, -3]);
    assert.deepStrictEqual(
      Array.from(
        combine([
          { vector: a, coef: 0.5 },
          { vector: b, coef: -1 },
        ]).data,
      ),
      [-0.5, 1, 2.5],
    );
    assert.ok(Math.abs(l2norm(normalise(a).data) - 1) < 1e-6);
    assert.throws(() => sum(a, makeVector({ ...base, modelId: "other", data: f(1, 2, 3) })), /different models/);
    assert.throws(() => sum(a, makeVector({ ...base, data: f(1, 2) })), /dimensions differ/);
    assert.throws(() => sum(a, makeVector({ ...base, site: "blocks.2.hook_resid_post", data: f(1, 2, 3) })), /one site/);
    assert.throws(() => makeVector({ ...base, site: "layer2", data: f(1) }), /not a per-layer site/);
    assert.throws(() => makeVector({ ...base, data: f(1, NaN) }), /non-finite/);
  });

  it("turns active vectors into per-site additions, with layer weights", () => {
    const a = makeVector({ ...base, data: f(1, 0, 0) });
    const b = makeVector({ ...base, name: "b", site: "blocks.3.hook_resid_post", data: f(0, 1, 0) });
    const gg = withLayerWeights(a, [
      { layer: 1, weight: 0.5 },
      { layer: 2, weight: 1 },
    ]);
    const add = steerAdditions([
      { vector: gg, alpha: 4 },
      { vector: b, alpha: -2 },
      { vector: a, alpha: 1 },
      { vector: a, alpha: 0 },
    ]);
    assert.deepStrictEqual([...add.keys()].sort(), ["blocks.1.hook_resid_post", "blocks.2.hook_resid_post", "blocks.3.hook_resid_post"]);
    assert.deepStrictEqual(Array.from(add.get("blocks.1.hook_resid_post")!), [3, 0, 0]);
    assert.deepStrictEqual(Array.from(add.get("blocks.2.hook_resid_post")!), [4, 0, 0]);
    assert.deepStrictEqual(Array.from(add.get("blocks.3.hook_resid_post")!), [0, -2, 0]);
    assert.strictEqual(steerAdditions([{ vector: a, alpha: 0 }]).size, 0);
    assert.strictEqual(atLayer(gg, 3).site, "blocks.3.hook_resid_post");
    assert.strictEqual(atLayer(gg, 3).layerWeights, undefined);
  });

  it("checks that a vector fits the model", () => {
    const a = makeVector({ ...base, data: f(1, 0, 0) });
    checkVectorFits(a, info);
    assert.throws(() => checkVectorFits(makeVector({ ...base, data: f(1, 0) }), info), /2 values but model toy has a residual width of 3/);
    assert.throws(() => checkVectorFits({ ...a, modelId: "x" }, info), /built on model x/);
    checkVectorFits({ ...a, modelId: "x" }, info, true);
    assert.throws(() => checkVectorFits({ ...a, site: "blocks.7.hook_resid_post" }, info), /only 4 layers/);
    assert.throws(() => checkVectorFits({ ...a, site: "blocks.1.hook_mlp_out" }, info), /does not expose/);
  });
});

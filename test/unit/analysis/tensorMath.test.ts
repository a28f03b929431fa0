import * as assert from "assert";
import { asMatrix, cosineDistance, entropy, l2Norm, medianAbs, softmax, topK } from "../../../src/engine/analysis/tensorMath";

const f = (...v: number[]) => Float32Array.from(v);
const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

describe("analysis/tensorMath", () => {
  it("l2Norm of (3, 4) is 5", () => close(l2Norm(f(3, 4)), 5));

  it("cosine distance: same 0, orthogonal 1, opposite 2, zero vector NaN", () => {
    close(cosineDistance(f(1, 2), f(2, 4)), 0);
    close(cosineDistance(f(1, 0), f(0, 3)), 1);
    close(cosineDistance(f(1, 1), f(-1, -1)), 2);
    // (1,0) vs (1,1): cos = 1/sqrt2
    close(cosineDistance(f(1, 0), f(1, 1)), 1 - Math.SQRT1_2);
    assert.ok(Number.isNaN(cosineDistance(f(0, 0), f(1, 1))));
  });

  it("softmax of (0, ln 3) is (1/4, 3/4) and survives huge logits", () => {
    const p = softmax(f(0, Math.log(3)));
    close(p[0], 0.25);
    close(p[1], 0.75);
    const q = softmax(f(1000, 1000));
    close(q[0], 0.5);
  });

  it("entropy: uniform over 4 is ln 4, one-hot is 0", () => {
    close(entropy(f(0.25, 0.25, 0.25, 0.25)), Math.log(4));
    close(entropy(f(1, 0, 0)), 0);
    // -(0.5 ln 0.5 + 2 * 0.25 ln 0.25) = 1.5 ln 2
    close(entropy(f(0.5, 0.25, 0.25)), 1.5 * Math.LN2, 1e-6);
  });

  it("topK returns the largest first and ties in index order", () => {
    const r = topK(f(0.1, 0.5, 0.3, 0.5, -1), 3);
    assert.deepStrictEqual(Array.from(r.indices), [1, 3, 2]);
    assert.deepStrictEqual(Array.from(r.values), [0.5, 0.5, Math.fround(0.3)]);
    assert.strictEqual(topK(f(1, 2), 5).indices.length, 2);
  });

  it("medianAbs", () => {
    close(medianAbs(f(-3, 1, 2)), 2);
    close(medianAbs(f(-4, 1, 2, 3)), 2.5);
    // A view into a larger buffer reads only its own values and leaves them as they were.
    const big = f(100, -7, 0, -0, 5, 1e-30, 3, -200);
    const view = big.subarray(1, 7);
    assert.strictEqual(medianAbs(view), 1.5); // |values| 0, 0, 1e-30, 3, 5, 7
    assert.deepStrictEqual([...big], [...f(100, -7, 0, -0, 5, 1e-30, 3, -200)]);
    assert.strictEqual(medianAbs(f(Infinity, -Infinity, 2)), Infinity);
  });

  it("medianAbs equals a sort's answer: random, sorted, reversed, constant and few-valued arrays", () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const kinds: [string, (n: number) => Float32Array][] = [
      ["random", (n) => Float32Array.from({ length: n }, rand)],
      ["sorted", (n) => Float32Array.from({ length: n }, (_, i) => i / n)],
      ["reversed", (n) => Float32Array.from({ length: n }, (_, i) => -i)],
      ["constant", (n) => new Float32Array(n).fill(0.25)],
      ["three values", (n) => Float32Array.from({ length: n }, () => [-1, 0, 2][Math.floor((rand() + 1) * 1.5)])],
      ["one outlier", (n) => Float32Array.from({ length: n }, (_, i) => (i === n >> 1 ? 1e6 : rand() * 1e-3))],
    ];
    for (const [kind, make] of kinds)
      for (const n of [1, 2, 3, 17, 100, 1001, 4096, 30001]) {
        const v = make(n);
        const sorted = Float32Array.from(v, Math.abs).sort();
        const m = n >> 1;
        const want = n % 2 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        assert.strictEqual(medianAbs(v), want, `${kind}, ${n} values`);
      }
  });

  it("asMatrix drops the batch dim and rejects bad shapes", () => {
    const m = asMatrix({ dims: [1, 2, 3], data: new Float32Array(6) });
    assert.deepStrictEqual([m.rows, m.cols], [2, 3]);
    assert.throws(() => asMatrix({ dims: [2, 2, 3], data: new Float32Array(12) }), /tokens, features/);
    assert.throws(() => asMatrix({ dims: [2, 3], data: new Float32Array(5) }), /do not match/);
  });
});

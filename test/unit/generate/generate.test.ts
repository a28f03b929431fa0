import * as assert from "assert";
import { Decoder, DecoderFactory } from "../../../src/engine";
import { generate, generatePaired, PairedStep } from "../../../src/engine";
import { entropy, klDivergence, logSoftmax, probabilityMass, softmax, topK } from "../../../src/engine";
import { makeSampler, mulberry32 } from "../../../src/engine";
import { steeringSweep } from "../../../src/engine";
import { makeVector } from "../../../src/engine";
import { IntrospectError } from "../../../src/engine";

const V = 6;
const SITE = "blocks.0.hook_resid_post";
/**
 * Toy language model: the next-token logits depend on the previous token and on the sequence
 * length, and steering adds (its vector's first V entries) to the logits.
 */
function toyFactory(log: { made: number; disposed: number; fed: number[][] }): DecoderFactory {
  return (steer) => {
    log.made++;
    const add = steer.get(SITE);
    const seq: number[] = [];
    const dec: Decoder = {
      async feed(ids) {
        log.fed.push(ids.slice());
        seq.push(...ids);
        const prev = seq[seq.length - 1];
        const out = new Float32Array(V);
        for (let v = 0; v < V; v++)
          out[v] = Math.cos(prev * 1.7 + v * 2.3 + seq.length * 0.1) + (v === (prev + 1) % V ? 1.5 : 0) + (add ? add[v] : 0);
        return out;
      },
      dispose() {
        log.disposed++;
      },
    };
    return dec;
  };
}
const newLog = () => ({ made: 0, disposed: 0, fed: [] as number[][] });
const vec = (data: number[]) => makeVector({ name: "v", modelId: "toy", site: SITE, data: Float32Array.from(data) });

async function collect<T>(g: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
}

describe("generate/readout + sample", () => {
  it("computes softmax, KL and entropy", () => {
    const a = [1, 2, 3];
    const p = softmax(a);
    assert.ok(Math.abs(p.reduce((x, y) => x + y, 0) - 1) < 1e-12);
    assert.ok(Math.abs(entropy([0, 0, 0, 0]) - Math.log(4)) < 1e-12);
    assert.strictEqual(klDivergence(a, a), 0);
    const q = softmax([3, 2, 1]);
    const want = p.reduce((s, pi, i) => s + pi * Math.log(pi / q[i]), 0);
    assert.ok(Math.abs(klDivergence(a, [3, 2, 1]) - want) < 1e-12);
    assert.ok(Math.abs(softmax([1000, 1000])[0] - 0.5) < 1e-12, "stable for large logits");
    assert.ok(Math.abs(probabilityMass(a, [1, 2, 2]) - (p[1] + p[2])) < 1e-12);
    assert.deepStrictEqual(
      topK([0.5, 3, 1], 2).map((t) => t.id),
      [1, 2],
    );
    assert.ok(logSoftmax([0, -Infinity])[1] === -Infinity);
  });

  it("samples reproducibly with a seed, and top-k=1 / small top-p equal greedy", () => {
    const logits = Float32Array.from([0.1, 1.2, 0.9, -1, 0.3]);
    const draw = (o: Parameters<typeof makeSampler>[0], n: number) => {
      const s = makeSampler(o);
      return Array.from({ length: n }, () => s(logits));
    };
    assert.deepStrictEqual(draw({ kind: "sample", seed: 7 }, 20), draw({ kind: "sample", seed: 7 }, 20));
    assert.notDeepStrictEqual(draw({ kind: "sample", seed: 7 }, 20), draw({ kind: "sample", seed: 8 }, 20));
    assert.ok(draw({ kind: "sample", seed: 1, topK: 1 }, 10).every((x) => x === 1));
    assert.ok(draw({ kind: "sample", seed: 1, topP: 0.01 }, 10).every((x) => x === 1));
    assert.ok(draw({ kind: "greedy" }, 3).every((x) => x === 1));
    // Frequencies follow the distribution (temperature 1), and a low temperature sharpens it.
    const n = 20000;
    const counts = new Array(5).fill(0);
    for (const x of draw({ kind: "sample", seed: 3 }, n)) counts[x]++;
    softmax(logits).forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 0.015, `token ${i}: ${counts[i] / n} vs ${p}`));
    const cold = draw({ kind: "sample", seed: 3, temperature: 0.05 }, 200).filter((x) => x === 1).length;
    assert.ok(cold > 190);
    // top-k 2 never yields tokens outside the two best.
    assert.ok(draw({ kind: "sample", seed: 5, topK: 2 }, 500).every((x) => x === 1 || x === 2));
    assert.throws(() => makeSampler({ kind: "sample", seed: 1, temperature: 0 }), /above 0/);
    assert.throws(() => makeSampler({ kind: "sample", seed: 1, topP: 1.5 }), /top-p/);
    const r = mulberry32(1);
    const xs = Array.from({ length: 1000 }, r);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});

describe("generate", () => {
  it("generates greedily step by step, feeding one token at a time", async () => {
    const log = newLog();
    const toks = await collect(generate(toyFactory(log), [2, 3], { maxTokens: 5 }));
    assert.strictEqual(toks.length, 5);
    assert.deepStrictEqual(log.fed[0], [2, 3]);
    assert.ok(log.fed.slice(1).every((f) => f.length === 1));
    assert.strictEqual(log.fed.length, 5, "no pass wasted after the last token");
    assert.deepStrictEqual(
      log.fed.slice(1).map((f) => f[0]),
      toks.slice(0, 4).map((t) => t.id),
    );
    assert.strictEqual(log.disposed, log.made);
    assert.ok(toks.every((t) => t.p > 0 && t.p <= 1 && t.entropy > 0));
  });

  it("stops at a stop token and cancels between steps", async () => {
    const log = newLog();
    const all = await collect(generate(toyFactory(log), [2, 3], { maxTokens: 8 }));
    const stopAt = all[2].id;
    const firstStop = all.findIndex((t) => t.id === stopAt);
    const stopped = await collect(generate(toyFactory(newLog()), [2, 3], { maxTokens: 8, stopIds: [stopAt] }));
    assert.strictEqual(stopped.length, firstStop + 1);
    const token = { isCancellationRequested: false };
    const got: number[] = [];
    const log2 = newLog();
    await assert.rejects(
      (async () => {
        for await (const t of generate(toyFactory(log2), [2, 3], { maxTokens: 8, cancel: token })) {
          got.push(t.id);
          if (got.length === 3) token.isCancellationRequested = true;
        }
      })(),
      (e: unknown) => e instanceof IntrospectError && e.code === "cancelled",
    );
    assert.strictEqual(got.length, 3);
    assert.strictEqual(log2.fed.length, 3);
    assert.strictEqual(log2.disposed, 1);
  });

  it("applies steering at every step", async () => {
    const push = vec([0, 0, 0, 0, 9, 0]);
    const toks = await collect(generate(toyFactory(newLog()), [2, 3], { maxTokens: 6, steer: [{ vector: push, alpha: 1 }] }));
    assert.ok(toks.every((t) => t.id === 4));
  });

  it("pairs unsteered and steered runs with KL on the steered prefix and the first difference", async () => {
    const log = newLog();
    const v = vec([0, 0, 0, 0, 0, 3.2]);
    const steps: PairedStep[] = await collect(generatePaired(toyFactory(log), [2, 3], { maxTokens: 8, steer: [{ vector: v, alpha: 1 }] }));
    assert.strictEqual(steps.length, 8);
    const unsteered = await collect(generate(toyFactory(newLog()), [2, 3], { maxTokens: 8 }));
    const steered = await collect(generate(toyFactory(newLog()), [2, 3], { maxTokens: 8, steer: [{ vector: v, alpha: 1 }] }));
    assert.deepStrictEqual(
      steps.map((s) => s.unsteered.id),
      unsteered.map((t) => t.id),
    );
    assert.deepStrictEqual(
      steps.map((s) => s.steered.id),
      steered.map((t) => t.id),
    );
    const fd = unsteered.findIndex((t, i) => t.id !== steered[i].id);
    assert.ok(fd >= 0, "the toy steering should change something");
    assert.strictEqual(steps[steps.length - 1].firstDifference, fd);
    assert.ok(steps.slice(0, fd).every((s) => s.firstDifference === undefined));
    // KL recomputed independently: unsteered and steered logits on the steered prefix.
    const f = toyFactory(newLog());
    for (let i = 0; i < steps.length; i++) {
      const prefix = [2, 3, ...steered.slice(0, i).map((t) => t.id)];
      const lu = await f(new Map()).feed(prefix);
      const ls = await f(new Map([[SITE, v.data]])).feed(prefix);
      assert.ok(Math.abs(steps[i].kl - klDivergence(ls, lu)) < 1e-9, `step ${i}`);
      assert.ok(Math.abs(steps[i].steered.entropy - entropy(ls)) < 1e-9);
    }
    assert.strictEqual(log.disposed, log.made);
    assert.strictEqual(log.made, 3, "unsteered, steered and the shadow started at the first difference");
    // Zero steering: identical runs, KL 0, no difference.
    const same = await collect(generatePaired(toyFactory(newLog()), [2, 3], { maxTokens: 5, steer: [{ vector: v, alpha: 0 }] }));
    assert.ok(same.every((s) => s.kl === 0 && s.firstDifference === undefined && s.unsteered.id === s.steered.id));
  });

  it("paired sampling with one seed gives identical runs when steering is off", async () => {
    const sampling = { kind: "sample" as const, seed: 11, temperature: 1.5 };
    const v = vec([0, 0, 0, 0, 0, 0]);
    const steps = await collect(generatePaired(toyFactory(newLog()), [1], { maxTokens: 12, steer: [{ vector: v, alpha: 1 }], sampling }));
    assert.ok(steps.every((s) => s.unsteered.id === s.steered.id));
    const ids = steps.map((s) => s.steered.id);
    assert.ok(new Set(ids).size > 1, "sampling should vary");
  });

  it("sweeps strengths x layers with a word-probability score", async () => {
    const v = vec([0, 0, 1, 0, 0, 0]);
    const cells: number[] = [];
    const alphas = [-2, -1, 0, 1, 2, 4];
    const grid = await steeringSweep(toyFactory(newLog()), [2, 3], v, {
      alphas,
      layers: [0, 1],
      score: { kind: "word-probability", ids: [2] },
      maxTokens: 3,
      onCell: (c) => cells.push(c.score),
    });
    assert.strictEqual(grid.scores.length, 12);
    assert.strictEqual(cells.length, 12);
    // Layer 0 is where the toy reads steering: p(word) rises with strength; layer 1 does nothing.
    for (let i = 1; i < alphas.length; i++) assert.ok(grid.scores[i] > grid.scores[i - 1]);
    assert.ok(Math.abs(grid.scores[2] - grid.baseline) < 1e-9);
    for (let i = 0; i < alphas.length; i++) assert.ok(Math.abs(grid.scores[6 + i] - grid.baseline) < 1e-9);
    assert.ok(grid.tokens.every((t) => t.length === 3));
    const kl = await steeringSweep(toyFactory(newLog()), [2, 3], v, { alphas: [0, 3], score: { kind: "kl" } });
    assert.strictEqual(kl.scores[0], 0);
    assert.ok(kl.scores[1] > 0);
  });
});

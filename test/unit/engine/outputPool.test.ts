// Output buffer reuse: results handed out are never the reused buffers, and reuse engages only for
// shapes run more than once.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { openModel, type LoadedModel } from "../../../src/engine";
import { OutputPool, type RunsSessions } from "../../../src/engine/model/outputPool";

const MiB = 2 ** 20;

/** A session whose outputs `a` (n floats) and `b` (2n floats) are filled with the value of input `x`. */
class FakeSession implements RunsSessions {
  calls: ("names" | "tensors")[] = [];
  /** Like newer onnxruntime-node bindings: return pre-made tensors themselves. */
  returnsPremade = false;
  /** Like a value-dependent output shape: reject pre-made tensors. */
  rejectsPremade = false;
  constructor(readonly n: number) {}

  async run(feeds: Record<string, ort.Tensor>, fetches: readonly string[] | Record<string, ort.Tensor | null>) {
    const v = (feeds.x.data as Float32Array)[0];
    const size = (name: string) => (name === "a" ? this.n : 2 * this.n);
    if (Array.isArray(fetches)) {
      this.calls.push("names");
      return Object.fromEntries(fetches.map((k) => [k, new ort.Tensor("float32", new Float32Array(size(k)).fill(v), [size(k)])]));
    }
    this.calls.push("tensors");
    if (this.rejectsPremade) throw new Error("OrtValue shape verification failed");
    const out: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(fetches as Record<string, ort.Tensor>)) {
      (t.data as Float32Array).fill(v); // onnxruntime writes into the given buffer
      // onnxruntime-node 1.30 then hands back a copy; newer bindings the given tensor
      out[k] = this.returnsPremade ? t : new ort.Tensor("float32", (t.data as Float32Array).slice(), t.dims);
    }
    return out;
  }
}

const feed = (v: number, len = 1) => ({ x: new ort.Tensor("float32", new Float32Array(len).fill(v), [len]) });
const first = (t: ort.Tensor) => (t.data as Float32Array)[0];

describe("engine: output buffer reuse (OutputPool)", () => {
  it("pre-makes outputs from the second run of a shape on; earlier results stay intact", async () => {
    const s = new FakeSession(MiB / 4); // a + b = 3 MiB
    const pool = new OutputPool(256 * MiB);
    const r1 = await pool.run(s, feed(1), ["a", "b"]);
    const r2 = await pool.run(s, feed(2), ["a", "b"]);
    const r3 = await pool.run(s, feed(3), ["a", "b"]);
    const r4 = await pool.run(s, feed(4), ["a", "b"]);
    assert.deepStrictEqual(s.calls, ["names", "names", "tensors", "tensors"]);
    assert.deepStrictEqual(
      [r1, r2, r3, r4].map((r) => [first(r.a), first(r.b)]),
      [
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
      ],
    );
    assert.notStrictEqual((r3.a.data as Float32Array).buffer, (r4.a.data as Float32Array).buffer);
    assert.deepStrictEqual(pool.stats(), { reused: 2, heldBytes: 3 * MiB });
  });

  it("a different feed shape or fetch list is a different key", async () => {
    const s = new FakeSession(MiB / 4);
    const pool = new OutputPool(256 * MiB);
    await pool.run(s, feed(1), ["a", "b"]);
    await pool.run(s, feed(1, 2), ["a", "b"]);
    await pool.run(s, feed(1), ["a"]);
    assert.deepStrictEqual(s.calls, ["names", "names", "names"]);
    // seen before with other runs in between: now pre-made
    await pool.run(s, feed(1), ["a", "b"]);
    await pool.run(s, feed(5), ["a", "b"]);
    assert.deepStrictEqual(s.calls.slice(3), ["names", "tensors"]);
  });

  it("copies and switches off when the binding returns the pre-made tensors themselves", async () => {
    const s = new FakeSession(MiB / 4);
    s.returnsPremade = true;
    const pool = new OutputPool(256 * MiB);
    await pool.run(s, feed(1), ["a", "b"]);
    await pool.run(s, feed(2), ["a", "b"]);
    const r3 = await pool.run(s, feed(3), ["a", "b"]);
    const r4 = await pool.run(s, feed(4), ["a", "b"]);
    assert.deepStrictEqual(s.calls, ["names", "names", "tensors", "names"]);
    assert.strictEqual(first(r3.a), 3, "r3 was overwritten by a later run");
    assert.strictEqual(first(r4.a), 4);
    assert.match(pool.stats().off ?? "", /returns pre-made output tensors/);
  });

  it("falls back to a plain run when onnxruntime rejects the pre-made tensors", async () => {
    const s = new FakeSession(MiB / 4);
    s.rejectsPremade = true;
    const pool = new OutputPool(256 * MiB);
    await pool.run(s, feed(1), ["a", "b"]);
    await pool.run(s, feed(2), ["a", "b"]);
    const r3 = await pool.run(s, feed(3), ["a", "b"]);
    assert.deepStrictEqual(s.calls, ["names", "names", "tensors", "names"]);
    assert.strictEqual(first(r3.b), 3);
    assert.strictEqual(pool.stats().heldBytes, 0);
  });

  it("keeps nothing for small outputs, over the limit, or when disabled", async () => {
    for (const [n, max] of [
      [16, 256 * MiB],
      [MiB, 2 * MiB],
      [MiB / 4, 0],
    ]) {
      const s = new FakeSession(n);
      const pool = new OutputPool(max);
      for (let i = 0; i < 4; i++) await pool.run(s, feed(i), ["a", "b"]);
      assert.ok(
        s.calls.every((c) => c === "names"),
        `n=${n} max=${max}`,
      );
      assert.strictEqual(pool.stats().heldBytes, 0);
    }
  });

  it("forgets the buffers of a session that goes away", async () => {
    const [s, other] = [new FakeSession(MiB / 4), new FakeSession(MiB / 4)];
    const pool = new OutputPool(256 * MiB);
    for (let i = 0; i < 2; i++) await pool.run(s, feed(i), ["a", "b"]);
    pool.forget(other);
    assert.strictEqual(pool.stats().heldBytes, 3 * MiB);
    pool.forget(s);
    assert.strictEqual(pool.stats().heldBytes, 0);
    await pool.run(s, feed(7), ["a", "b"]);
    assert.strictEqual(s.calls.at(-1), "names");
  });

  it("a run while the buffers are in use gets fresh outputs", async () => {
    const s = new FakeSession(MiB / 4);
    const pool = new OutputPool(256 * MiB);
    await pool.run(s, feed(1), ["a", "b"]);
    await pool.run(s, feed(2), ["a", "b"]);
    const [r3, r4] = await Promise.all([pool.run(s, feed(3), ["a", "b"]), pool.run(s, feed(4), ["a", "b"])]);
    assert.deepStrictEqual(s.calls.slice(2).sort(), ["names", "tensors"]);
    assert.deepStrictEqual([first(r3.a), first(r4.a)], [3, 4]);
  });
});

describe("engine: captures with reused output buffers (demo-llama)", function () {
  this.timeout(120000);
  const demo = path.resolve(__dirname, "../../../models/demo-llama");
  let reuse: LoadedModel;
  let fresh: LoadedModel;
  before(async function () {
    if (!fs.existsSync(path.join(demo, "onnx", "model.onnx"))) this.skip();
    reuse = await openModel(demo);
    fresh = await openModel(demo, { reuseOutputBytes: 0 });
  });
  after(async () => {
    await reuse?.dispose();
    await fresh?.dispose();
  });

  it("results equal unreused runs and are not overwritten by later runs", async () => {
    const sites = reuse.expandSites(["resid_pre", "resid_mid", "resid_post", "mlp_post"]);
    // 200 tokens: logits alone are 1.1 MB, above the pool's lower limit
    const prompt = (seed: number) => Array.from({ length: 200 }, (_, i) => (i * 37 + seed * 101) % reuse.info.vocabSize);
    const runs = [];
    for (let seed = 0; seed < 4; seed++) runs.push(await reuse.run({ ids: prompt(seed), capture: sites }));
    assert.ok(reuse.outputReuse().reused >= 2, JSON.stringify(reuse.outputReuse()));
    for (let seed = 0; seed < 4; seed++) {
      const want = await fresh.run({ ids: prompt(seed), capture: sites });
      assert.deepStrictEqual(runs[seed].logits.data, want.logits.data, `logits of run ${seed}`);
      for (const s of sites) assert.deepStrictEqual(runs[seed].captures.get(s)!.data, want.captures.get(s)!.data, `${s} of run ${seed}`);
    }
    assert.strictEqual(fresh.outputReuse().reused, 0);
  });
});

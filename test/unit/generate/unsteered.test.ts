// The unsteered run shared across paired generations (the steering panel restarts on every
// slider move): taking steps from it changes no number, and cancelled or failed generations
// never leave it holding steps that a fresh run would not compute.
import * as assert from "assert";
import type { Decoder, DecoderFactory } from "../../../src/engine";
import { generate, generatePaired, type GeneratedToken, type PairedOptions, type PairedStep } from "../../../src/engine";
import type { SamplingOptions } from "../../../src/engine";
import { UnsteeredCache, UnsteeredRun } from "../../../src/engine";
import { makeVector } from "../../../src/engine";
import { IntrospectError, throwIfCancelled, type CancelToken } from "../../../src/engine";

const V = 7;
const SITE = "blocks.0.hook_resid_post";
const PROMPT = [2, 3, 5];

interface Log {
  /** Every pass: the ids fed and whether the decoder was steered. */
  fed: { ids: number[]; steered: boolean }[];
  /** When set, each pass waits for this before its turn (as behind the host's pass gate), then checks `cancel`. */
  turn?: Promise<void>;
  /** When set, each pass waits for this before returning (a pass "in flight"). */
  hold?: Promise<void>;
  /** Throws on this pass number (0-based, over all decoders) after taking the tokens in. */
  failAt?: number;
}

/**
 * Toy model: logits depend on the last two tokens and the length; steering adds its vector's
 * first V entries. Keeps Decoder's contract: a pass refused for cancellation changes nothing.
 */
function toy(log: Log): DecoderFactory {
  return (steer) => {
    const add = steer.get(SITE);
    const seq: number[] = [];
    const dec: Decoder = {
      async feed(ids, cancel?: CancelToken) {
        if (log.turn) await log.turn;
        throwIfCancelled(cancel);
        const n = log.fed.length;
        log.fed.push({ ids: ids.slice(), steered: !!add });
        seq.push(...ids);
        if (log.failAt === n) throw new Error("the runtime failed");
        if (log.hold) await log.hold;
        const a = seq[seq.length - 1];
        const b = seq.length > 1 ? seq[seq.length - 2] : 0;
        const out = new Float32Array(V);
        for (let v = 0; v < V; v++)
          out[v] = Math.sin(a * 1.3 + v * 2.1 + b * 0.7 + seq.length * 0.37) + (v === (a + 1) % V ? 1.2 : 0) + (add ? add[v] : 0);
        return out;
      },
      dispose() {},
    };
    return dec;
  };
}

const vec = (data: number[]) => makeVector({ name: "v", modelId: "toy", site: SITE, data: Float32Array.from(data) });
const STRONG = vec([0, 0, 0, 0, 0, 0, 2.5]);
const WEAK = vec([0, 0.4, 0, 0, 0.3, 0, 0.6]);

async function collect(
  g: AsyncGenerator<PairedStep>,
  stopAfter?: number,
  cancel?: { isCancellationRequested: boolean },
): Promise<PairedStep[]> {
  const out: PairedStep[] = [];
  try {
    for await (const s of g) {
      out.push(s);
      if (out.length === stopAfter && cancel) cancel.isCancellationRequested = true;
    }
  } catch (e) {
    if (!(e instanceof IntrospectError && e.code === "cancelled")) throw e;
  }
  return out;
}

const opts = (alpha: number, sampling: SamplingOptions, extra: Partial<PairedOptions> = {}): PairedOptions => ({
  maxTokens: 10,
  steer: [{ vector: alpha > 1 ? STRONG : WEAK, alpha }],
  sampling,
  ...extra,
});

const SAMPLINGS: [string, SamplingOptions][] = [
  ["greedy", { kind: "greedy" }],
  ["seeded sampling", { kind: "sample", seed: 17, temperature: 1.3 }],
];

describe("generate/unsteered run shared across generations", () => {
  for (const [name, sampling] of SAMPLINGS) {
    it(`${name}: steps with a cached unsteered run equal those without, and a warm run costs one prompt pass`, async () => {
      const cache = new UnsteeredCache();
      // One log for every pass of these generations, the cached run's included.
      const log: Log = { fed: [] };
      const run = () => cache.get(PROMPT, sampling, "sites", () => toy(log)(new Map()));
      // Strengths whose runs differ at once, later, or never; one with a stop id (maxTokens and
      // stop ids are not in the cache key).
      const cases: [number, Partial<PairedOptions>][] = [
        [3, {}],
        [1, {}],
        [0, {}],
        [1, { stopIds: [4], maxTokens: 14 }],
        [3, { maxTokens: 3 }],
      ];
      let differed = 0;
      let u!: UnsteeredRun;
      for (const [alpha, extra] of cases) {
        const fresh = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(alpha, sampling, extra)));
        u = run();
        const warm = u.length > 0;
        const from = log.fed.length;
        const cached = await collect(generatePaired(toy(log), PROMPT, opts(alpha, sampling, { ...extra, unsteered: u })));
        assert.deepStrictEqual(cached, fresh, `alpha ${alpha} ${JSON.stringify(extra)}`);
        if (fresh.some((s) => s.firstDifference !== undefined)) differed++;
        const promptPasses = log.fed.slice(from).filter((f) => JSON.stringify(f.ids) === JSON.stringify(PROMPT));
        assert.strictEqual(promptPasses.length, warm ? 1 : 2, "a warm run feeds the prompt once (steered), a cold one twice");
        if (warm && alpha > 0) assert.ok(promptPasses[0].steered);
      }
      assert.ok(differed >= 2, "some strengths should change the text");
      // The unsteered side equals plain generation, an independent path (same sampler, one draw per step).
      const plain: GeneratedToken[] = [];
      for await (const t of generate(toy({ fed: [] }), PROMPT, { maxTokens: 14, sampling })) plain.push(t);
      const paired = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(3, sampling, { maxTokens: 14, unsteered: u })));
      assert.deepStrictEqual(
        paired.map((s) => s.unsteered),
        plain,
      );
      assert.strictEqual(cache.size, 1);
      // The run never computed past what was asked for: the longest unsteered run read.
      assert.ok(u.length <= 14);
    });
  }

  it("matches fresh runs for seeded sampling with top-k/top-p, and refuses a run of another prompt or sampling", async () => {
    const sampling: SamplingOptions = { kind: "sample", seed: 5, temperature: 0.9, topK: 4, topP: 0.95 };
    const u = new UnsteeredRun(() => toy({ fed: [] })(new Map()), PROMPT, sampling);
    for (const alpha of [1, 3, 0.5]) {
      const fresh = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(alpha, sampling)));
      const cached = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(alpha, sampling, { unsteered: u })));
      assert.deepStrictEqual(cached, fresh);
    }
    await assert.rejects(
      collect(generatePaired(toy({ fed: [] }), [2, 3], opts(1, sampling, { unsteered: u }))),
      /another prompt or sampling/,
    );
    await assert.rejects(
      collect(generatePaired(toy({ fed: [] }), PROMPT, opts(1, { kind: "greedy" }, { unsteered: u }))),
      /another prompt/,
    );
  });

  for (const [name, sampling] of SAMPLINGS) {
    it(`${name}: a generation cancelled half way (pass in flight, pass refused) leaves only complete steps`, async () => {
      const want = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(1, sampling)));
      const cache = new UnsteeredCache();
      const log: Log = { fed: [] };
      const get = () => cache.get(PROMPT, sampling, "sites", () => toy(log)(new Map()));

      // 1. Cancelled before any pass ran: nothing stored.
      const c0 = { isCancellationRequested: true };
      assert.deepStrictEqual(await collect(generatePaired(toy(log), PROMPT, opts(3, sampling, { cancel: c0, unsteered: get() }))), []);
      assert.strictEqual(get().length, 0);

      // 1b. Cancelled while its first pass waits for its turn: the pass is refused, nothing stored,
      // and the run's decoder is left as it was (the next generation below proves it).
      let turn!: () => void;
      log.turn = new Promise<void>((r) => (turn = r));
      const cWait = { isCancellationRequested: false };
      const waiting = collect(generatePaired(toy(log), PROMPT, opts(3, sampling, { cancel: cWait, unsteered: get() })));
      await new Promise((r) => setImmediate(r));
      cWait.isCancellationRequested = true;
      log.turn = undefined;
      turn();
      assert.deepStrictEqual(await waiting, []);
      assert.strictEqual(get().length, 0);

      // 2. Cancelled while the unsteered pass is in flight: the pass finishes and its step is complete.
      let release!: () => void;
      log.hold = new Promise<void>((r) => (release = r));
      const c1 = { isCancellationRequested: false };
      const first = collect(generatePaired(toy(log), PROMPT, opts(3, sampling, { cancel: c1, unsteered: get() })));
      while (log.fed.length === 0) await new Promise((r) => setImmediate(r));
      c1.isCancellationRequested = true;
      // A new generation starts at once, as on a slider move, while the old pass is still running.
      const second = collect(generatePaired(toy(log), PROMPT, opts(1, sampling, { unsteered: get() })));
      log.hold = undefined;
      release();
      assert.deepStrictEqual(await first, []);
      assert.deepStrictEqual(await second, want);

      // 3. Cancelled after a few steps (the next unsteered pass is refused): continued exactly.
      const c2 = { isCancellationRequested: false };
      const u = get();
      const before = u.length;
      const part = await collect(generatePaired(toy(log), PROMPT, opts(3, sampling, { cancel: c2, unsteered: u, maxTokens: 20 })), 12, c2);
      assert.strictEqual(part.length, 12);
      assert.ok(u.length >= 12 && u.length > before);
      const longer = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(1, sampling, { maxTokens: 20 })));
      assert.deepStrictEqual(
        await collect(generatePaired(toy(log), PROMPT, opts(1, sampling, { unsteered: get(), maxTokens: 20 }))),
        longer,
      );
    });
  }

  it("a pass that fails (not a cancellation) marks the run unusable and the cache starts afresh", async () => {
    const sampling: SamplingOptions = { kind: "sample", seed: 3 };
    const want = await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(3, sampling)));
    const cache = new UnsteeredCache();
    // Pass 0 is the unsteered prompt, 1 the steered prompt, 2 the next unsteered token: it fails
    // after the decoder took the token in, so that decoder is one token ahead of the run's steps.
    const log: Log = { fed: [], failAt: 2 };
    const u = cache.get(PROMPT, sampling, "sites", () => toy(log)(new Map()));
    await assert.rejects(collect(generatePaired(toy(log), PROMPT, opts(3, sampling, { unsteered: u }))), /runtime failed/);
    assert.strictEqual(u.usable, false);
    assert.strictEqual(u.length, 1);
    await assert.rejects(u.step(1), /runtime failed/);
    const again = cache.get(PROMPT, sampling, "sites", () => toy({ fed: [] })(new Map()));
    assert.notStrictEqual(again, u);
    assert.deepStrictEqual(await collect(generatePaired(toy({ fed: [] }), PROMPT, opts(3, sampling, { unsteered: again }))), want);
  });

  it("keeps a few runs within a byte budget, least recently used dropped first, never the one in use", async () => {
    const cache = new UnsteeredCache({ maxRuns: 2, maxBytes: 10 * V * 4 });
    const make = () => toy({ fed: [] })(new Map());
    const a = cache.get([1], { kind: "greedy" }, "s", make);
    await a.step(5);
    const b = cache.get([2], { kind: "greedy" }, "s", make);
    await b.step(3);
    assert.strictEqual(cache.get([1], { kind: "greedy" }, "s", make), a, "a is kept and becomes the newest");
    const c = cache.get([3], { kind: "greedy" }, "s", make);
    assert.strictEqual(cache.size, 2);
    assert.notStrictEqual(cache.get([2], { kind: "greedy" }, "s", make), b, "b (least recently used) was dropped");
    await c.step(20);
    cache.get([4], { kind: "greedy" }, "s", make);
    // c alone is over the byte budget: dropped once it is not the run asked for.
    assert.ok(cache.size <= 2);
    assert.notStrictEqual(cache.get([3], { kind: "greedy" }, "s", make), c);
    // Another variant (e.g. other prepared sites) or sampling is another run.
    assert.notStrictEqual(cache.get([4], { kind: "greedy" }, "t", make), cache.get([4], { kind: "greedy" }, "s", make));
  });
});

// The host's live steering on demo-llama: paired streaming, a restart that cancels the running
// generation without waiting for it, and the slider-to-first-token latency the panel sees.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel } from "../../../src/engine";
import { loadTokenizer } from "../../../src/engine";
import { findBlock, parsePromptFile, toContrastSpec } from "../../../src/engine";
import type { ContrastBlock } from "../../../src/engine";
import { buildFromContrast } from "../../../src/engine";
import { LiveSteering, PassGate } from "../../../src/server/handlers/steerLive";
import type { SteerStep } from "../../../src/protocol/lsp";

const ROOT = path.resolve(__dirname, "../../..");
const MODEL = path.join(ROOT, "models/demo-llama");

describe("steer-ui/PassGate", () => {
  it("runs tasks one at a time, and skips a waiter cancelled before its turn", async () => {
    const gate = new PassGate();
    const order: string[] = [];
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = () => (order.push("a"), r()))));
    const token = { isCancellationRequested: false };
    const second = gate.run(async () => void order.push("b"), token);
    const third = gate.run(async () => void order.push("c"));
    token.isCancellationRequested = true;
    while (!release) await new Promise((r) => setImmediate(r));
    release();
    await first;
    await assert.rejects(second, /Cancelled/);
    await third;
    assert.deepStrictEqual(order, ["a", "c"]);
  });
});

describe("steer-ui/LiveSteering on demo-llama", function () {
  this.timeout(120000);
  let live: LiveSteering;
  let id: string;
  before(async function () {
    if (!fs.existsSync(path.join(MODEL, "onnx/model.onnx"))) this.skip();
    const model = await openModel(MODEL);
    const tok = await loadTokenizer(MODEL);
    live = new LiveSteering(model, tok);
    const spec = toContrastSpec(
      findBlock(parsePromptFile(fs.readFileSync(path.join(ROOT, "demo/sentiment.introspect"), "utf8")), "sentiment") as ContrastBlock,
    );
    const enc = (s: string) => tok.encode(s).map((t) => t.id);
    const v = await buildFromContrast(model, {
      name: "sentiment",
      site: `blocks.${spec.layers[0]}.hook_resid_post`,
      positive: spec.positive.map(enc),
      negative: spec.negative.map(enc),
      pooling: spec.position,
      normalise: spec.normalize,
    });
    id = live.add(v);
  });
  after(async () => {
    if (live) await live.model.dispose();
  });

  const run = (alpha: number, cancel = { isCancellationRequested: false }, steps: SteerStep[] = []) =>
    live.generate({
      prompt: "The food was",
      vectors: [{ id, alpha }],
      maxTokens: 12,
      sampling: { kind: "greedy" },
      stopIds: [0],
      cancel,
      onStep: (s) => steps.push(s),
    });

  it("streams paired steps; strength 0 gives identical runs with KL 0, a strong vector changes the text", async () => {
    const zero: SteerStep[] = [];
    await run(0, undefined, zero);
    assert.ok(zero.length > 3);
    for (const s of zero) {
      assert.strictEqual(s.steered.id, s.unsteered.id);
      assert.ok(s.kl < 1e-6, `kl ${s.kl}`);
      assert.strictEqual(s.firstDifference, undefined);
    }
    const pos: SteerStep[] = [];
    await run(2, undefined, pos);
    const text = (xs: SteerStep[], k: "steered" | "unsteered") => xs.map((s) => s[k].text).join("");
    assert.notStrictEqual(text(pos, "steered"), text(pos, "unsteered"));
    assert.ok(pos.some((s) => s.kl > 0.01));
    assert.strictEqual(text(pos, "unsteered"), text(zero, "unsteered"));
    console.log(`      unsteered: ${JSON.stringify(text(pos, "unsteered"))}\n      alpha 2:   ${JSON.stringify(text(pos, "steered"))}`);
  });

  it("a restart cancels the running generation, which stops within one pass", async () => {
    const cancel = { isCancellationRequested: false };
    const steps: SteerStep[] = [];
    const first = run(1, cancel, steps);
    while (steps.length < 2) await new Promise((r) => setImmediate(r));
    cancel.isCancellationRequested = true;
    const second: SteerStep[] = [];
    const restarted = run(-1, undefined, second);
    await assert.rejects(first, /Cancelled/);
    assert.ok(steps.length <= 3, `the cancelled run went on for ${steps.length} steps`);
    await restarted;
    assert.ok(second.length > 3);
  });

  it("keeps the unsteered run across restarts: steps equal a host without it, after a cancelled run too (greedy and seeded)", async () => {
    const before = new LiveSteering(live.model, live.tok, { unsteeredCache: false, lastLogitsOnly: false });
    const uncached = new LiveSteering(live.model, live.tok, { unsteeredCache: false });
    for (const l of [before, uncached]) l.add(live.get(id), id);
    const samplings = [{ kind: "greedy" as const }, { kind: "sample" as const, seed: 7, temperature: 1.2 }];
    for (const sampling of samplings) {
      const go = (l: LiveSteering, alpha: number, cancel = { isCancellationRequested: false }, steps: SteerStep[] = [], stopAfter = 0) =>
        l
          .generate({
            prompt: "The service was",
            vectors: [{ id, alpha }],
            maxTokens: 10,
            sampling,
            stopIds: [0],
            cancel,
            onStep: (st) => {
              steps.push(st);
              if (steps.length === stopAfter) cancel.isCancellationRequested = true;
            },
          })
          .then(() => steps);
      const want = await go(uncached, 2);
      assert.ok(want.length > 3);
      // The panel's path: a run cancelled after two steps, the next one started at once (not awaited).
      const cancelled = go(live, 1, { isCancellationRequested: false }, [], 2).catch((e: Error) => e);
      const got = await go(live, 2);
      assert.match(String(await cancelled), /Cancelled/);
      assert.deepStrictEqual(got, want);
      assert.deepStrictEqual(await go(live, 2), want, "fully cached");
      // Against the path before (every position unembedded, no cache): same tokens, same numbers to rounding.
      const old = await go(before, 2);
      assert.deepStrictEqual(
        old.map((st) => [st.unsteered.id, st.steered.id, st.firstDifference]),
        want.map((st) => [st.unsteered.id, st.steered.id, st.firstDifference]),
      );
      old.forEach((st, i) => {
        const w = want[i];
        for (const [a, b] of [
          [st.kl, w.kl],
          [st.steered.p, w.steered.p],
          [st.unsteered.entropy, w.unsteered.entropy],
        ])
          assert.ok(Math.abs(a - b) < 1e-5, `step ${i}: ${a} vs ${b}`);
      });
    }
  });

  it("measures slider change -> first paired step vs one plain forward (short and ~64-token prompts)", async () => {
    const v = live.get(id);
    const long =
      "The food was good and the service was slow, but the room was warm and the music was quiet. ".repeat(3) + "Overall the evening was";
    for (const text of ["The food was", long]) {
      const n = live.tok.encode(text).length;
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) samples.push(await live.sliderLatency(text, v, 1, -1, [0]));
      samples.sort((a, b) => a - b);
      const plain: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        await live.model.run({ ids: live.tok.encode(text).map((t) => t.id) });
        plain.push(performance.now() - t0);
      }
      plain.sort((a, b) => a - b);
      console.log(
        `      ${n} tokens: slider -> first paired step median ${(samples[2] * 1000).toFixed(1)} ms; plain forward median ${plain[2].toFixed(1)} ms; ratio ${((samples[2] * 1000) / plain[2]).toFixed(2)}`,
      );
      assert.ok(samples[2] > 0 && samples[2] < 5);
    }
  });
});

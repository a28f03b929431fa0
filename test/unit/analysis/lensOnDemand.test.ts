// A probe whose logit lens comes for its first tokens only (lensTokens), the rest asked for in
// chunks (ProbeSession.lens) and merged (mergeLensChunk): the merged result equals the probe that
// computed every column at once, and the pending columns say so (ids -1, NaN metrics, `computed`).
// Also the output budget: a pass whose every-site outputs exceed it runs a session exposing only
// what it captures, with the same activations.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { IntrospectError, ProbeSession, openModel, type LoadedModel } from "../../../src/engine";
import { lensMissing, mergeLensChunk } from "../../../src/protocol/probeData";

const ROOT = path.resolve(__dirname, "../../..");
const MODELS = [
  path.join(ROOT, "models", "demo-llama"),
  path.join(ROOT, "models", "demo-gpt2"),
  path.join(ROOT, "test", "fixtures", "zoo", "gemma2-dynamo"),
];
const TEXT = "The quick brown fox jumps over the lazy dog, and then the dog sleeps in the warm afternoon sun by the river.";

describe("logit lens on demand", function () {
  this.timeout(180000);
  const opened: LoadedModel[] = [];
  after(async () => {
    for (const m of opened) {
      m.removeWrittenFiles();
      await m.dispose();
    }
  });

  for (const dir of MODELS) {
    it(`${path.basename(dir)}: first 3 tokens with the probe, the rest in chunks, equal to the whole lens`, async () => {
      const m = await openModel(dir);
      opened.push(m);
      const sel = { start: 0, end: 48 };
      const whole = (await ProbeSession.start(m, TEXT, sel)).result;
      const s = await ProbeSession.start(m, TEXT, sel, { lensTokens: 3 });
      const r = s.result;
      const n = r.selection.end - r.selection.start;
      assert.ok(n > 12, `${n} tokens`);
      assert.equal(whole.logitLens.computed, undefined);
      assert.deepEqual(r.logitLens.computed, [{ start: 0, end: 3 }]);
      assert.deepEqual(lensMissing(r), [{ start: 3, end: n }]);
      const k = r.logitLens.k;
      // Pending columns: no ids, NaN lens metrics; computed ones already equal the whole lens.
      for (let l = 0; l < r.layerCount; l++) {
        assert.equal(r.logitLens.ids.data[(l * n + 5) * k], -1);
        assert.ok(Number.isNaN(r.metrics.entropy.data[l * n + 5]));
        assert.equal(r.logitLens.ids.data[(l * n + 1) * k], whole.logitLens.ids.data[(l * n + 1) * k]);
      }
      // Out of order, overlapping, as a panel paging back and forth asks.
      for (const range of [
        { start: 9, end: n },
        { start: 2, end: 6 },
        { start: 6, end: 10 },
      ])
        mergeLensChunk(r, await s.lens(range));
      assert.equal(r.logitLens.computed, undefined, "every column computed");
      assert.deepEqual(Array.from(r.logitLens.ids.data), Array.from(whole.logitLens.ids.data));
      for (const [got, want] of [
        [r.logitLens.probs.data, whole.logitLens.probs.data],
        [r.metrics.entropy.data, whole.metrics.entropy.data],
        [r.metrics.nextTokenProb.data, whole.metrics.nextTokenProb.data],
      ]) {
        let worst = 0;
        got.forEach((v, i) => {
          if (Number.isNaN(want[i])) assert.ok(Number.isNaN(v), `NaN at ${i}`);
          else worst = Math.max(worst, Math.abs(v - want[i]));
        });
        assert.ok(worst < 1e-5, `max difference ${worst}`);
      }
      for (const id of r.logitLens.ids.data) if (id >= 0) assert.equal(typeof r.logitLens.vocab[id], "string");
      // Every column asked for: the kept residuals are gone and a further request says so.
      await assert.rejects(s.lens({ start: 0, end: 2 }), (e: unknown) => e instanceof IntrospectError && /complete/.test(e.message));
    });
  }

  it("refuses columns outside the selection with a sentence, and chunks that do not fit the result", async () => {
    const m = opened[0] ?? (await openModel(MODELS[0]));
    if (!opened.includes(m)) opened.push(m);
    const s = await ProbeSession.start(m, TEXT, { start: 0, end: 40 }, { lensTokens: 2 });
    const n = s.result.selection.end - s.result.selection.start;
    for (const bad of [
      { start: -1, end: 2 },
      { start: 2, end: n + 1 },
      { start: 4, end: 4 },
      { start: 1.5, end: 3 },
    ])
      await assert.rejects(
        s.lens(bad),
        (e: unknown) => e instanceof IntrospectError && e.code === "bad-input" && /outside/.test(e.message),
      );
    const chunk = await s.lens({ start: 2, end: n });
    const other = (await ProbeSession.start(m, TEXT, { start: 0, end: 10 }, { lensTokens: 1 })).result;
    assert.throws(() => mergeLensChunk(other, chunk), /does not fit/);
  });

  it("a pass over the output budget exposes only its captures, with the same values", async () => {
    const dir = MODELS[0];
    const all = await openModel(dir);
    const tight = await openModel(dir, { outputBudgetBytes: 1 });
    opened.push(all, tight);
    const ids = Array.from({ length: 40 }, (_, i) => ((i * 37) % 500) + 3);
    const sites = ["blocks.1.hook_resid_post", "blocks.0.mlp.hook_post"];
    const a = await all.run({ ids, capture: sites });
    const before = tight.writtenFiles.length;
    const b = await tight.run({ ids, capture: sites });
    assert.ok(tight.exposedBytes(1, 40, 0) > 1);
    assert.equal(tight.writtenFiles.length, before + 1, "one more edited graph, for this capture set");
    for (const site of sites) assert.deepEqual(Array.from(b.captures.get(site)!.data), Array.from(a.captures.get(site)!.data));
    assert.deepEqual(Array.from(b.logits.data), Array.from(a.logits.data));
    // The same capture set again: the same session, no new graph.
    await tight.run({ ids, capture: [...sites].reverse() });
    assert.equal(tight.writtenFiles.length, before + 1);
  });
});

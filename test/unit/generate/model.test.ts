// Generation on a real ONNX model: the KV-cache decoder and full recompute agree, steering
// changes the continuation, and paired runs / sweeps work end to end.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel } from "../../../src/engine";
import type { LoadedModel } from "../../../src/engine";
import { modelDecoderFactory } from "../../../src/engine";
import { generate, generatePaired } from "../../../src/engine";
import { steeringSweep } from "../../../src/engine";
import { makeVector } from "../../../src/engine";

const DIR = path.resolve(__dirname, "../../fixtures/local/tiny-llama");

describe("generate/model", function () {
  let model: LoadedModel;
  before(async function () {
    if (!fs.existsSync(path.join(DIR, "onnx/model.onnx"))) this.skip();
    model = await openModel(DIR);
  });
  after(async () => {
    if (model) {
      await model.dispose();
      model.removeWrittenFiles();
    }
  });

  it("KV-cache decoding and full recompute give the same tokens and logits, steered or not", async () => {
    const site = `blocks.${model.info.numLayers - 1}.hook_resid_post`;
    const v = makeVector({
      name: "r",
      modelId: model.info.id,
      site,
      data: Float32Array.from({ length: model.info.dModel }, (_, i) => Math.sin(i)),
    });
    for (const steer of [[], [{ vector: v, alpha: 4 }]]) {
      const kv: number[] = [];
      const full: number[] = [];
      const pk: number[] = [];
      const pf: number[] = [];
      for await (const t of generate(modelDecoderFactory(model, { useKvCache: true }), [1, 5, 9], { maxTokens: 12, steer })) {
        kv.push(t.id);
        pk.push(t.p);
      }
      for await (const t of generate(modelDecoderFactory(model, { useKvCache: false }), [1, 5, 9], { maxTokens: 12, steer })) {
        full.push(t.id);
        pf.push(t.p);
      }
      assert.deepStrictEqual(kv, full);
      pk.forEach((p, i) => assert.ok(Math.abs(p - pf[i]) < 1e-4));
    }
  });

  it("paired generation on the model: strong steering changes the text, KL > 0", async () => {
    const site = `blocks.${model.info.numLayers - 1}.hook_resid_post`;
    const v = makeVector({
      name: "r",
      modelId: model.info.id,
      site,
      data: Float32Array.from({ length: model.info.dModel }, (_, i) => Math.cos(3 * i)),
    });
    const factory = modelDecoderFactory(model, { prepare: [site] });
    const steps = [];
    for await (const s of generatePaired(factory, [1, 5, 9], { maxTokens: 8, steer: [{ vector: v, alpha: 8 }] })) steps.push(s);
    assert.strictEqual(steps.length, 8);
    assert.ok(steps[0].kl > 0);
    assert.ok(steps.some((s) => s.firstDifference !== undefined));
    const grid = await steeringSweep(factory, [1, 5, 9], v, { alphas: [0, 2, 4], layers: [0, 1], score: { kind: "kl" }, maxTokens: 2 });
    assert.strictEqual(grid.scores[0], 0);
    assert.ok(grid.scores[2] > grid.scores[1] && grid.scores[1] > 0);
  });
});

// The decoder unembeds only the last position by default; the rows must equal the full-logits
// session's last rows, with and without past_key_values, on several export styles.
describe("generate/model: last-position logits", function () {
  this.timeout(120000);
  const FIXTURES = ["tiny-llama", "tiny-gpt2", "tiny-llama-skipfused", "tiny-llama-dynq", "tiny-moe"];
  for (const name of FIXTURES) {
    const dir = path.resolve(__dirname, "../../fixtures/local", name);
    it(`${name}: same rows as the full-logits session, KV cache or full recompute, steered`, async function () {
      if (!fs.existsSync(path.join(dir, "onnx/model.onnx"))) this.skip();
      const model = await openModel(dir);
      try {
        const site = `blocks.${model.info.numLayers - 1}.hook_resid_post`;
        const add = new Map([[site, Float32Array.from({ length: model.info.dModel }, (_, i) => Math.sin(i))]]);
        const variants = [
          modelDecoderFactory(model, { prepare: [site] })(add),
          modelDecoderFactory(model, { prepare: [site], lastLogitsOnly: false })(add),
          modelDecoderFactory(model, { prepare: [site], useKvCache: false })(add),
        ];
        let feed = [1, 5, 9];
        for (let step = 0; step < 6; step++) {
          const rows = [];
          for (const d of variants) rows.push(await d.feed(feed));
          const [last, full, recompute] = rows;
          assert.strictEqual(last.length, model.info.vocabSize ?? last.length);
          let diff = 0;
          let diffRecompute = 0;
          for (let i = 0; i < last.length; i++) {
            diff = Math.max(diff, Math.abs(last[i] - full[i]));
            diffRecompute = Math.max(diffRecompute, Math.abs(last[i] - recompute[i]));
          }
          assert.ok(diff < 1e-5, `step ${step}: max |last - full| ${diff}`);
          // Dynamic quantization scales each MatMul input by its own range, which depends on how
          // many positions a pass holds: recompute and cached steps differ there by design.
          if (!name.includes("dynq")) assert.ok(diffRecompute < 1e-4, `step ${step}: max |last - recompute| ${diffRecompute}`);
          const next = last.indexOf(Math.max(...last));
          assert.strictEqual(full.indexOf(Math.max(...full)), next);
          feed = [next];
        }
      } finally {
        await model.dispose();
        model.removeWrittenFiles();
      }
    });
  }
});

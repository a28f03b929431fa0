// One vector applied over several layers with a weight per layer, against PyTorch on the same
// weights (bench/reference/steer_layers.py adds alpha * weight * vector to each listed block's
// output with forward hooks): last-position logits and greedy ids must match, and must differ
// from the vector at its own layer alone (so the weights are really used).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { PYTHON, ROOT } from "../../../bench/lib/models";
import { generate } from "../../../src/engine";
import { modelDecoderFactory } from "../../../src/engine";
import { toleranceFor } from "../../../src/engine";
import { openModel } from "../../../src/engine";
import { makeVector, steerAdditions, withLayerWeights } from "../../../src/engine";
import { findReferenceCases, steeringCase } from "../patch/reference-files";

describe("steer/per-layer weights against PyTorch", function () {
  this.timeout(240000);
  const c = findReferenceCases().find((x) => x.name === "demo-llama" && steeringCase(x));

  it("demo-llama: a vector over layers 1-3 (weights 0.5, 1, -0.25) gives PyTorch's logits and greedy ids", async function () {
    if (!c) this.skip();
    const ref = steeringCase(c!)!;
    const weights = [
      { layer: 1, weight: 0.5 },
      { layer: 2, weight: 1 },
      { layer: 3, weight: -0.25 },
    ];
    const alpha = 2;
    const newTokens = 8;
    const py = spawnSync(PYTHON, [path.join(ROOT, "bench/reference/steer_layers.py"), c!.modelDir], {
      input: JSON.stringify({ ids: ref.ids, vector: Array.from(ref.vector), alpha, weights, new_tokens: newTokens }),
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    assert.strictEqual(py.status, 0, `steer_layers.py failed (needs python3-torch, python3-onnx): ${py.stderr}`);
    const want = JSON.parse(py.stdout) as { logits_last: number[]; greedy_ids: number[] };

    const model = await openModel(c!.modelDir);
    try {
      const plain = makeVector({ name: "ref", modelId: model.info.id, site: ref.site, data: ref.vector });
      const spread = withLayerWeights(plain, weights);
      const V = model.info.vocabSize;
      const lastRow = async (add: ReturnType<typeof steerAdditions>) => {
        const r = await model.run({ ids: ref.ids, steer: [...add].map(([site, vector]) => ({ site, vector })) });
        return r.logits.data.subarray(r.logits.data.length - V);
      };
      const add = steerAdditions([{ vector: spread, alpha }]);
      assert.deepStrictEqual([...add.keys()].sort(), ["blocks.1.hook_resid_post", "blocks.2.hook_resid_post", "blocks.3.hook_resid_post"]);
      const got = await lastRow(add);
      const scale = Math.max(1, ...want.logits_last.map(Math.abs));
      const TOL = toleranceFor(model.info.exportStyle, c!.manifest.tolerance?.abs) * scale;
      let err = 0;
      for (let i = 0; i < V; i++) err = Math.max(err, Math.abs(got[i] - want.logits_last[i]));
      assert.ok(err < TOL, `max |engine - PyTorch| = ${err} (tolerance ${TOL})`);

      const single = await lastRow(steerAdditions([{ vector: plain, alpha }]));
      let apart = 0;
      for (let i = 0; i < V; i++) apart = Math.max(apart, Math.abs(single[i] - want.logits_last[i]));
      assert.ok(apart > 100 * TOL, `the layer weights change the logits (single-layer differs by ${apart})`);

      for (const useKvCache of [true, false]) {
        const ids: number[] = [];
        for await (const t of generate(modelDecoderFactory(model, { useKvCache }), ref.ids, { maxTokens: newTokens, steer: add }))
          ids.push(t.id);
        assert.deepStrictEqual(ids, want.greedy_ids, `greedy ids (kv=${useKvCache})`);
      }
    } finally {
      await model.dispose();
      model.removeWrittenFiles();
    }
  });
});

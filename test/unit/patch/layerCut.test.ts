// Layer cuts (patching runs that start at the patched layer from the captured residual, and feed
// only the positions from the patched block on) give the grids of full-graph forward passes.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel } from "../../../src/engine/model/open";
import { modelPatchRunner } from "../../../src/engine/patch/model-runner";
import { patchingSweep } from "../../../src/engine/patch/sweep";
import { planLayerCut, cutLayers } from "../../../src/engine/patch/layerCut";
import type { PatchSiteKind } from "../../../src/engine/patch/spec";

const ROOT = path.resolve(__dirname, "../../..");
/** Families whose residual separates at every cut layer, then ones where some cut is refused (fused
 * norms; OPT's reshapes read shapes from before the cut) and the runner feeds the whole graph. */
const MODELS: Array<[string, boolean]> = [
  ["models/demo-llama", true],
  ["test/fixtures/zoo/gpt2-torchscript", true],
  ["test/fixtures/zoo/llama-dynamo", true],
  ["test/fixtures/zoo/qwen2-dynamo", true],
  ["test/fixtures/zoo/gpt_neox-torchscript", true],
  ["test/fixtures/zoo/gemma2-dynamo", true],
  ["test/fixtures/zoo/mixtral-torchscript", true],
  ["test/fixtures/zoo/llama-ortfused", false],
  ["test/fixtures/zoo/opt-torchscript", false],
];

describe("patch/layer cuts", () => {
  for (const [rel, separable] of MODELS) {
    const dir = path.join(ROOT, rel);
    it(`${path.basename(rel)}: the sweep with layer cuts equals the full-graph sweep within 1e-5`, async function () {
      if (!fs.existsSync(path.join(dir, "onnx/model.onnx"))) this.skip();
      const model = await openModel(dir);
      try {
        const L = model.info.numLayers;
        const planned = cutLayers(L, 4)
          .filter((l) => l > 0)
          .map((l) => planLayerCut(model, l, { patch: [`blocks.${l}.hook_resid_pre`], lastLogits: true }));
        assert.ok(planned.length > 0, "a model of several layers has cut layers");
        if (separable) assert.ok(planned.every(Boolean), "every cut should be planned on this graph");
        const V = model.info.vocabSize;
        const T = 14;
        const clean = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
        const corrupt = clean.slice();
        corrupt[2] = (corrupt[2] + 1) % V;
        corrupt[9] = (corrupt[9] + 5) % V;
        const sites: PatchSiteKind[] = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"];
        const layers = Array.from({ length: L }, (_, l) => l);
        const kinds = sites.filter((s) => layers.every((l) => model.info.sites.includes(`blocks.${l}.${s}`)));
        const names = kinds.flatMap((s) => layers.map((l) => `blocks.${l}.${s}`));
        const spec = { cleanIds: clean, corruptIds: corrupt, correct: 1, wrong: 2, sites: kinds };
        const cut = await patchingSweep(modelPatchRunner(model, names, { layerCuts: L }), spec, { extra: ["logit-diff"], batchSize: 7 });
        const full = await patchingSweep(
          modelPatchRunner(model, names, { layerCuts: 1, reusePrefix: false, lastLogitsOnly: false }),
          spec,
          {
            extra: ["logit-diff"],
            batchSize: 7,
          },
        );
        assert.ok(cut.cellsRun > 0);
        let worst = 0;
        let moved = 0;
        for (const k of kinds) {
          const a = cut.grids[k]!.logitDiff!;
          const b = full.grids[k]!.logitDiff!;
          for (let i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
            moved = Math.max(moved, Math.abs(b[i] - full.baselines.corrupt.logitDiff));
          }
        }
        assert.ok(moved > 1e-3, "some cell should move the metric");
        assert.ok(worst < 1e-5, `max |cut - full| = ${worst}`);
      } finally {
        await model.dispose();
      }
    });
  }
});

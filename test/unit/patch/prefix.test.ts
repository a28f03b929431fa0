// The runner's prefix reuse (feeding only the tokens from the earliest patched position after the
// captured prompt's key/value cache) gives the grids of full forward passes.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel } from "../../../src/engine";
import { modelPatchRunner } from "../../../src/engine";
import { patchingSweep } from "../../../src/engine";
import type { PatchSiteKind } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
const MODELS = [
  "models/demo-llama",
  "test/fixtures/zoo/gpt2-torchscript",
  "test/fixtures/zoo/qwen2-dynamo",
  "test/fixtures/zoo/opt-torchscript",
];

describe("patch/prefix reuse", () => {
  for (const rel of MODELS) {
    const dir = path.join(ROOT, rel);
    it(`${path.basename(rel)}: cut sweep equals the uncut sweep within 1e-4`, async function () {
      if (!fs.existsSync(path.join(dir, "onnx/model.onnx"))) this.skip();
      const model = await openModel(dir);
      try {
        const V = model.info.vocabSize;
        const T = 12;
        const clean = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
        const corrupt = clean.slice();
        corrupt[3] = (corrupt[3] + 1) % V;
        corrupt[8] = (corrupt[8] + 5) % V;
        const sites: PatchSiteKind[] = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"];
        const layers = Array.from({ length: model.info.numLayers }, (_, l) => l);
        const names = sites.flatMap((s) => layers.map((l) => `blocks.${l}.${s}`)).filter((n) => model.info.sites.includes(n));
        const kinds = sites.filter((s) => layers.every((l) => model.info.sites.includes(`blocks.${l}.${s}`)));
        const spec = { cleanIds: clean, corruptIds: corrupt, correct: 1, wrong: 2, sites: kinds };
        const run = (cut: boolean) =>
          patchingSweep(modelPatchRunner(model, names, { reusePrefix: cut, lastLogitsOnly: cut }), spec, {
            extra: ["logit-diff"],
            batchSize: 5,
          });
        const cut = await run(true);
        const full = await run(false);
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
        assert.ok(worst < 1e-4, `max |cut - uncut| = ${worst}`);
      } finally {
        await model.dispose();
      }
    });
  }
});

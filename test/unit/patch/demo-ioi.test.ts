// On demo-llama's indirect-object task (demo/ioi.introspect): patching the clean residual into
// the corrupted run restores the answer from the changed name's position in early layers and
// from the final position in late layers.
import * as assert from "assert";
import { toPatchSpec } from "../../../src/engine";
import type { PatchBlock } from "../../../src/engine";
import { modelPatchRunner } from "../../../src/engine";
import { patchingSweep } from "../../../src/engine";
import { demoBlock, useDemoModel } from "../helpers/demoModel";

function argmax(a: ArrayLike<number>, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i] > a[from + best]) best = i;
  return best;
}

describe("patch/demo-llama indirect object", function () {
  const demo = useDemoModel();

  it("moves from the name position (early layers) to the final position (late layers)", async () => {
    const { model, tok } = demo;
    const spec = toPatchSpec(demoBlock<PatchBlock>("ioi.introspect", "names-swapped"))!;
    const enc = (s: string, special = true) => tok.encode(s, { addSpecialTokens: special }).map((t) => t.id);
    const cleanIds = enc(spec.clean);
    const corruptIds = enc(spec.corrupt);
    assert.strictEqual(cleanIds.length, corruptIds.length);
    const differ = cleanIds.map((t, i) => (t !== corruptIds[i] ? i : -1)).filter((i) => i >= 0);
    assert.strictEqual(differ.length, 1, "the prompts should differ in one token (the repeated name)");
    const correct = enc(spec.answer!, false)[0];
    const wrong = enc(spec.wrong!, false)[0];
    const L = model.info.numLayers;
    const sites = Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_pre`);
    const runner = modelPatchRunner(model, sites);
    const t0 = Date.now();
    const res = await patchingSweep(runner, { cleanIds, corruptIds, correct, wrong, sites: ["hook_resid_pre"] }, { batchSize: 32 });
    const ms = Date.now() - t0;
    const g = res.grids.hook_resid_pre!.normalised;
    const P = res.positions.length;
    assert.ok(res.baselines.clean.logitDiff > res.baselines.corrupt.logitDiff, "the clean prompt should prefer the answer");
    // tools/models/README.md ("Indirect-object patching picture"): layers 0-3 peak at the S2 name
    // position, layers 4-5 at the final position. Layer 0 restores fully at S2 (the only changed token).
    assert.strictEqual(L, 6);
    for (let l = 0; l < L; l++) {
      const at = argmax(g, l * P, P);
      assert.strictEqual(at, l <= 3 ? differ[0] : P - 1, `layer ${l}: maximum at position ${at}`);
      assert.ok(g[l * P + at] > 0.5, `layer ${l}: maximum ${g[l * P + at]}`);
    }
    assert.ok(Math.abs(g[differ[0]] - 1) < 1e-3);
    assert.ok(Math.abs(g[(L - 1) * P + P - 1] - 1) < 0.05);
    const rows = Array.from(
      { length: L },
      (_, l) => `      L${l}: ${Array.from(g.subarray(l * P, (l + 1) * P), (x) => x.toFixed(2)).join(" ")}`,
    );
    console.log(`      resid_pre sweep, ${res.cellsRun} cells run in ${res.forwardPasses} passes, ${ms} ms\n${rows.join("\n")}`);
  });
});

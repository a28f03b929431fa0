// Patched logits against the PyTorch reference patching case of every model that has one.
import * as assert from "assert";
import { openModel } from "../../../src/engine";
import { toleranceFor } from "../../../src/engine";
import { modelPatchRunner } from "../../../src/engine";
import { patchingSweep } from "../../../src/engine";
import { parseHookName } from "../../../src/engine";
import { findReferenceCases, patchingCase } from "./reference-files";

describe("patch/reference", () => {
  const cases = findReferenceCases().filter((c) => patchingCase(c));
  if (cases.length === 0)
    it("has reference patching cases to compare with", function () {
      this.skip();
    });
  for (const c of cases) {
    it(`${c.name}: patched logits equal PyTorch's, single and batched`, async () => {
      const ref = patchingCase(c)!;
      const model = await openModel(c.modelDir);
      try {
        // The engine's faithfulness tolerance for this export style, scaled by the reference's magnitude.
        const TOL =
          toleranceFor(model.info.exportStyle, c.manifest.tolerance?.abs) *
          Math.max(
            1,
            ref.logits.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
          );
        const runner = modelPatchRunner(model, [ref.site]);
        const clean = await runner.capture(ref.cleanIds, [ref.site]);
        const d = model.info.dModel;
        const S = ref.corruptIds.length;
        const values = new Float32Array(S * d);
        values.set(clean.acts.get(ref.site)!.subarray(ref.position * d, (ref.position + 1) * d), ref.position * d);
        // Row 0: no patch; row 1: the reference cell; row 2: the reference cell again.
        const mask = new Uint8Array(3 * S);
        mask[S + ref.position] = 1;
        mask[2 * S + ref.position] = 1;
        const out = await runner.runPatched(ref.corruptIds, 3, new Map([[ref.site, { mask, values }]]));
        const V = model.info.vocabSize;
        const want = ref.logits.data.subarray(ref.logits.data.length - V);
        const corrupt = await runner.capture(ref.corruptIds, []);
        let err = 0;
        let errUnpatched = 0;
        let moved = 0;
        for (let v = 0; v < V; v++) {
          err = Math.max(err, Math.abs(out[V + v] - want[v]), Math.abs(out[2 * V + v] - want[v]));
          errUnpatched = Math.max(errUnpatched, Math.abs(out[v] - corrupt.logits[v]));
          moved = Math.max(moved, Math.abs(want[v] - corrupt.logits[v]));
        }
        assert.ok(moved > 1e-3, "the reference patch should change the logits");
        assert.ok(err < TOL, `max |patched - reference| = ${err}`);
        assert.ok(errUnpatched < TOL, `unpatched row differs from a plain run by ${errUnpatched}`);

        // The sweep's cell for that site/layer/position gives the metric of the reference logits.
        const p = parseHookName(ref.site)!;
        let correct = 0;
        let wrong = 0;
        for (let v = 0; v < V; v++) {
          if (clean.logits[v] - corrupt.logits[v] > clean.logits[correct] - corrupt.logits[correct]) correct = v;
          if (clean.logits[v] - corrupt.logits[v] < clean.logits[wrong] - corrupt.logits[wrong]) wrong = v;
        }
        const res = await patchingSweep(
          runner,
          {
            cleanIds: ref.cleanIds,
            corruptIds: ref.corruptIds,
            correct,
            wrong,
            sites: [p.kind as "hook_resid_pre"],
            layers: [p.layer],
            positions: [ref.position],
          },
          { extra: ["logit-diff"] },
        );
        const ld = res.grids[p.kind as "hook_resid_pre"]!.logitDiff![0];
        assert.ok(Math.abs(ld - (want[correct] - want[wrong])) < TOL, `${ld} vs ${want[correct] - want[wrong]}`);
      } finally {
        await model.dispose();
        model.removeWrittenFiles();
      }
    });
  }
});

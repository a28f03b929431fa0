// Steered logits and greedy generation against the PyTorch reference steering case.
import * as assert from "assert";
import { openModel } from "../../../src/engine";
import { toleranceFor } from "../../../src/engine";
import { modelDecoderFactory } from "../../../src/engine";
import { generate } from "../../../src/engine";
import { makeVector, steerAdditions } from "../../../src/engine";
import { findReferenceCases, steeringCase } from "../patch/reference-files";

describe("steer/reference", () => {
  const cases = findReferenceCases().filter((c) => steeringCase(c));
  if (cases.length === 0)
    it("has reference steering cases to compare with", function () {
      this.skip();
    });
  for (const c of cases) {
    const ref = steeringCase(c)!;
    it(`${c.name}: steered logits (every position)${ref.greedyIds ? " and greedy ids" : ""} equal PyTorch's`, async () => {
      const model = await openModel(c.modelDir);
      try {
        // The engine's faithfulness tolerance for this export style, scaled by the reference's magnitude.
        const TOL =
          toleranceFor(model.info.exportStyle, c.manifest.tolerance?.abs) *
          Math.max(
            1,
            ref.logits.data.reduce((m, x) => Math.max(m, Math.abs(x)), 0),
          );
        const v = makeVector({ name: "ref", modelId: model.info.id, site: ref.site, data: ref.vector });
        const add = steerAdditions([{ vector: v, alpha: ref.alpha }]);
        const r = await model.run({ ids: ref.ids, steer: [...add].map(([site, vector]) => ({ site, vector })) });
        assert.deepStrictEqual(r.logits.dims, ref.logits.dims);
        let err = 0;
        for (let i = 0; i < r.logits.data.length; i++) err = Math.max(err, Math.abs(r.logits.data[i] - ref.logits.data[i]));
        assert.ok(err < TOL, `max |steered - reference| = ${err}`);
        // The decoders (KV cache and recompute) give the reference's last-position logits too.
        const V = model.info.vocabSize;
        const last = ref.logits.data.subarray(ref.logits.data.length - V);
        for (const useKvCache of [true, false]) {
          const dec = modelDecoderFactory(model, { useKvCache })(add);
          const row = await dec.feed(ref.ids);
          dec.dispose();
          let e = 0;
          for (let i = 0; i < V; i++) e = Math.max(e, Math.abs(row[i] - last[i]));
          assert.ok(e < TOL, `decoder (kv=${useKvCache}) last-position error ${e}`);
        }
        if (ref.greedyIds) {
          const want = ref.greedyIds.slice(0, ref.greedyIds.length);
          const cont = want.length > ref.ids.length && ref.ids.every((t, i) => want[i] === t) ? want.slice(ref.ids.length) : want;
          for (const useKvCache of [true, false]) {
            const got: number[] = [];
            for await (const t of generate(modelDecoderFactory(model, { useKvCache }), ref.ids, { maxTokens: cont.length, steer: add }))
              got.push(t.id);
            assert.deepStrictEqual(got, cont, `greedy ids (kv=${useKvCache})`);
          }
        }
      } finally {
        await model.dispose();
        model.removeWrittenFiles();
      }
    });
  }
});

// Per-head patching (attn.hook_z, one head's slice from clean into corrupted at every aligned
// position) on demo-llama against PyTorch on the same weights (tools/models/head_patch_ref.py,
// weights read back from the ONNX file): the unpatched logits agree first (the re-implementation is
// the model), then every layer x head cell's patched logits within 1e-4.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { runHeadPatching } from "../../../src/engine";
import { modelPatchRunner } from "../../../src/engine/patch/model-runner";
import { headPatchingSweep, zSite } from "../../../src/engine/patch/heads";
import { ROOT, useDemoModel } from "../helpers/demoModel";

interface RefPair {
  name: string;
  clean_ids: number[];
  corrupt_ids: number[];
  correct: number;
  wrong: number;
  clean_logits: string;
  corrupt_logits: string;
  patched_logits: string;
  normalised: number[];
}
const REF = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/patch/head-patch-demo-llama.json"), "utf8")) as {
  layers: number;
  heads: number;
  pairs: RefPair[];
};
const floats = (b64: string) => {
  const buf = Buffer.from(b64, "base64");
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
};
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe("patch/per-head patching on demo-llama against PyTorch", function () {
  this.timeout(300000);
  const demo = useDemoModel();

  for (const pair of REF.pairs) {
    it(`${pair.name}: unpatched and every head's patched logits within 1e-4`, async () => {
      const { model } = demo;
      const H = model.info.numHeads!;
      const L = model.info.numLayers;
      assert.strictEqual(H, REF.heads);
      assert.strictEqual(L, REF.layers);
      const names = Array.from({ length: L }, (_, l) => zSite(l));
      // A runner that keeps every patched row's logits, so whole rows are compared, not only the metric.
      const inner = modelPatchRunner(model, names);
      const rows = new Map<string, Float32Array>();
      let captured: Float32Array[] = [];
      const runner = {
        ...inner,
        async capture(ids: number[], sites: string[]) {
          const r = await inner.capture(ids, sites);
          captured.push(r.logits);
          return r;
        },
        async runPatched(ids: number[], n: number, patches: Parameters<typeof inner.runPatched>[2]) {
          const out = await inner.runPatched(ids, n, patches);
          const p = [...patches.values()][0];
          const V = model.info.vocabSize;
          const T = ids.length;
          const dh = p.width! / H;
          for (let r = 0; r < n; r++) {
            const [site] = [...patches.entries()].find(([, bp]) =>
              bp.mask.subarray(r * T * p.width!, (r + 1) * T * p.width!).some((x) => x),
            )!;
            const bp = patches.get(site)!;
            const row = bp.mask.subarray(r * T * p.width!, (r + 1) * T * p.width!);
            const head = Math.floor((row.indexOf(1) % p.width!) / dh);
            rows.set(`${site}:${head}`, out.slice(r * V, (r + 1) * V));
          }
          return out;
        },
      };
      captured = [];
      const res = await headPatchingSweep(
        runner,
        { cleanIds: pair.clean_ids, corruptIds: pair.corrupt_ids, correct: pair.correct, wrong: pair.wrong },
        H,
        { batchSize: 5 },
      );
      const clean = maxDiff(captured[0], floats(pair.clean_logits));
      const corrupt = maxDiff(captured[1], floats(pair.corrupt_logits));
      assert.ok(clean < 1e-4 && corrupt < 1e-4, `unpatched logits: clean ${clean}, corrupted ${corrupt}`);
      const want = floats(pair.patched_logits);
      const V = model.info.vocabSize;
      let worst = 0;
      for (let l = 0; l < L; l++)
        for (let h = 0; h < H; h++) {
          const k = l * H + h;
          const got = rows.get(`${zSite(l)}:${h}`);
          const ref = want.subarray(k * V, (k + 1) * V);
          // A head that was not run (identical slices) keeps the corrupted logits.
          const d = maxDiff(got ?? captured[1], ref);
          worst = Math.max(worst, d);
          assert.ok(d < 1e-4, `L${l}H${h}: max |logit difference| ${d}`);
          assert.ok(
            Math.abs(res.normalised[k] - pair.normalised[k]) < 1e-4,
            `L${l}H${h}: normalised ${res.normalised[k]} vs ${pair.normalised[k]}`,
          );
        }
      console.log(
        `      ${pair.name}: ${res.cellsRun} heads run, ${res.cellsSkipped} skipped, ${res.forwardPasses} passes; worst logit difference ${worst.toExponential(2)}`,
      );
    });
  }

  it("the model-level entry gives the same grid, and a head the name task uses stands out", async () => {
    const pair = REF.pairs[0];
    const res = await runHeadPatching(demo.model, {
      cleanIds: pair.clean_ids,
      corruptIds: pair.corrupt_ids,
      correct: pair.correct,
      wrong: pair.wrong,
    });
    assert.ok(maxDiff(res.normalised, pair.normalised) < 1e-4);
    const best = res.normalised.reduce((b, v, i) => (v > res.normalised[b] ? i : b), 0);
    console.log(`      strongest head L${Math.floor(best / res.numHeads)}H${best % res.numHeads}: ${res.normalised[best].toFixed(3)}`);
    assert.ok(res.normalised[best] > 0.3, "one head restores a good part of the answer");
  });

  it("refuses a head count that does not divide attn.hook_z", async () => {
    const pair = REF.pairs[0];
    const runner = modelPatchRunner(demo.model, [zSite(0)]);
    await assert.rejects(
      headPatchingSweep(
        runner,
        { cleanIds: pair.clean_ids, corruptIds: pair.corrupt_ids, correct: pair.correct, wrong: pair.wrong, layers: [0] },
        5,
      ),
      /does not split into 5 heads/,
    );
  });
});

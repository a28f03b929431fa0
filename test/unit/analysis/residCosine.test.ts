// The layer heatmap's "cosine to previous layer" against PyTorch: the probe of a demo model's
// reference prompt gives, at every layer after the first and every token, the cosine between the
// residuals after consecutive layers that PyTorch captured (test/fixtures/reference, written by
// tools/models), computed here in float64 from those tensors.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel } from "../../../src/engine";
import { buildProbeResult } from "../../../src/engine";
import { loadTokenizer } from "../../../src/engine";
import { readSafetensors, toFloat32 } from "../../../src/engine";
import { ActivationCache } from "../../../src/engine";
import { LAYER_METRIC_DEFS } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

describe("layer metric: residual cosine to the previous layer", function () {
  this.timeout(120000);

  for (const name of ["demo-llama", "demo-gpt2"]) {
    it(`${name}: matches the cosine of PyTorch's residuals after consecutive layers`, async () => {
      const refDir = path.join(ROOT, "test/fixtures/reference", name);
      const manifest = JSON.parse(fs.readFileSync(path.join(refDir, "manifest.json"), "utf8")) as {
        prompts: { text: string; ids: number[] }[];
      };
      const ref = readSafetensors(path.join(refDir, "tensors.safetensors")).tensors;
      const { text, ids } = manifest.prompts[0];
      const model = await openModel(path.join(ROOT, "models", name));
      try {
        const tok = await loadTokenizer(model.resolved.folder);
        assert.deepStrictEqual(
          tok.encode(text).map((t) => t.id),
          ids,
          "the probe tokenizes the prompt as the reference did",
        );
        const r = await buildProbeResult(model, text, { start: 0, end: text.length }, { tokenizer: tok });
        const L = model.info.numLayers;
        const n = r.selection.end - r.selection.start;
        assert.strictEqual(n, ids.length);
        const got = r.metrics.residCosine;
        assert.deepStrictEqual(got.dims, [L, n]);
        for (let c = 0; c < n; c++) assert.ok(Number.isNaN(got.data[c]), `layer 0 has no previous layer (token ${c})`);
        let lo = Infinity;
        let hi = -Infinity;
        for (let l = 1; l < L; l++) {
          const prev = ref.get(`0/blocks.${l - 1}.hook_resid_post`);
          const cur = ref.get(`0/blocks.${l}.hook_resid_post`);
          assert.ok(prev && cur, `reference has the residuals of layers ${l - 1} and ${l}`);
          const D = cur.shape[cur.shape.length - 1];
          const a = toFloat32(prev);
          const b = toFloat32(cur);
          for (let t = 0; t < n; t++) {
            const want = cosine(a.subarray(t * D, (t + 1) * D), b.subarray(t * D, (t + 1) * D));
            const v = got.data[l * n + t];
            assert.ok(Math.abs(v - want) < 1e-4, `${name} L${l} token ${t}: ${v} vs PyTorch ${want}`);
            lo = Math.min(lo, want);
            hi = Math.max(hi, want);
          }
        }
        // The comparison can fail: the reference cosines are not all one value.
        assert.ok(hi - lo > 0.01, `reference cosines span ${lo}..${hi}`);
      } finally {
        model.removeWrittenFiles();
        await model.dispose();
      }
    });
  }

  it("is 1 for a kept direction, 0 for an orthogonal one, -1 for a reversed one, n/a for zeros", () => {
    const t = (rows: number[][]) => ({ dims: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) });
    const cache = new ActivationCache(2, { start: 0, end: 4 }, [0, 1, 2, 3]);
    cache.set(
      "blocks.0.hook_resid_post",
      t([
        [1, 0],
        [1, 0],
        [1, 0],
        [0, 0],
      ]),
    );
    cache.set(
      "blocks.1.hook_resid_post",
      t([
        [3, 0],
        [0, 2],
        [-1, 0],
        [1, 1],
      ]),
    );
    const v = Array.from(LAYER_METRIC_DEFS.residCosine.compute(cache, 1));
    assert.deepStrictEqual(v.slice(0, 3), [1, 0, -1]);
    assert.ok(Number.isNaN(v[3]));
    assert.deepStrictEqual(LAYER_METRIC_DEFS.residCosine.sites(1), ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]);
  });
});

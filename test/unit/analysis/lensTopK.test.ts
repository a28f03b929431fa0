// The logit lens reduced inside onnxruntime (lensTopK) equals the lens computed in JavaScript from
// the full [rows, vocab] logits (unembedResidual + logitLensLayer): the same top-k ids, and the same
// probabilities, next-token probabilities and entropies, across row chunks and on several graphs.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { openModel } from "../../../src/engine";
import { unembedResidual } from "../../../src/engine";
import { LENS_CHUNK_ROWS, lensTopK } from "../../../src/engine/model/lensTopK";
import { logitLensLayer, type LensLayer } from "../../../src/engine/analysis/layerMetrics";
import { mulberry32 } from "../../../src/engine";

const ZOO = path.join(__dirname, "..", "..", "fixtures", "zoo");

describe("logit lens with top-k in onnxruntime", function () {
  this.timeout(120000);
  for (const name of ["llama-torchscript", "gpt2-torchscript", "gemma2-dynamo"]) {
    it(`${name}: equals the JavaScript lens over ${LENS_CHUNK_ROWS * 2 + 17} rows (three chunks)`, async () => {
      const m = await openModel(path.join(ZOO, name));
      try {
        const n = LENS_CHUNK_ROWS * 2 + 17;
        const d = m.info.dModel;
        const r = mulberry32(5);
        const resid = { dims: [n, d], data: Float32Array.from({ length: n * d }, () => (r() - 0.5) * 4) };
        const next = Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? -1 : (i * 31) % m.info.vocabSize));
        // The reference in slices of 32 rows (inside every zoo model's positions), joined.
        const parts: LensLayer[] = [];
        for (let s = 0; s < n; s += 32) {
          const e = Math.min(n, s + 32);
          const logits = await unembedResidual(m, { dims: [e - s, d], data: resid.data.subarray(s * d, e * d) });
          parts.push(logitLensLayer(logits, { start: 0, end: e - s }, next.subarray(s, e), 5));
        }
        const cat = (f: (p: LensLayer) => Float32Array | Int32Array) => Float32Array.from(parts.flatMap((p) => Array.from(f(p))));
        const want = {
          k: parts[0].k,
          ids: cat((p) => p.ids),
          probs: cat((p) => p.probs),
          entropy: cat((p) => p.entropy),
          nextProb: cat((p) => p.nextProb),
        };
        const got = await lensTopK(m, resid, next, 5);
        assert.equal(got.k, want.k);
        let dp = 0;
        let de = 0;
        let dn = 0;
        let idsDiffer = 0;
        for (let i = 0; i < n * got.k; i++) {
          dp = Math.max(dp, Math.abs(got.probs[i] - want.probs[i]));
          // Ties between equal logits may order differently; their probabilities agree.
          if (got.ids[i] !== want.ids[i] && Math.abs(got.probs[i] - want.probs[i]) > 1e-6) idsDiffer++;
        }
        for (let i = 0; i < n; i++) {
          de = Math.max(de, Math.abs(got.entropy[i] - want.entropy[i]));
          if (i < n - 1) dn = Math.max(dn, Math.abs(got.nextProb[i] - want.nextProb[i]));
        }
        assert.equal(idsDiffer, 0);
        assert.ok(dp < 1e-5, `probabilities differ by ${dp}`);
        assert.ok(de < 1e-3, `entropies differ by ${de}`);
        assert.ok(dn < 1e-5, `next-token probabilities differ by ${dn}`);
        assert.ok(Number.isNaN(got.nextProb[n - 1]));
      } finally {
        await m.dispose();
      }
    });
  }
});

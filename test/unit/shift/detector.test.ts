// Activation-shift detector: the Woodbury form of the Mahalanobis distance equals the dense
// computation with the Ledoit-Wolf covariance written out (sklearn's formula); AUROC on a hand
// example; and on demo-llama, fitted on demo/shift/benign.introspect, the AUROC per layer on
// demo/shift/labelled.jsonl with the stated best layer and value.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { parsePromptFile } from "../../../src/engine";
import { auroc, evaluateDetectors, fitDetectors, fitReference, layerFeatures, mahalanobis, quantile } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";
import { readPrompts } from "../../../src/cli/shift";

const ROOT = path.resolve(__dirname, "../../..");

/** Seeded uniform numbers (mulberry32). */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Dense inverse by Gauss-Jordan elimination with partial pivoting. */
function inverse(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((r, i) => [...r, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    const v = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= v;
    for (let r = 0; r < n; r++)
      if (r !== c) {
        const f = m[r][c];
        for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
      }
  }
  return m.map((r) => r.slice(n));
}

describe("activation-shift detector", function () {
  this.timeout(300000);

  for (const [n, d] of [
    [12, 20],
    [30, 8],
  ]) {
    it(`Mahalanobis with the Ledoit-Wolf covariance equals the dense computation (n=${n}, d=${d})`, () => {
      const r = rng(n * 100 + d);
      const rows = Array.from({ length: n }, () => Float64Array.from({ length: d }, (_, j) => (r() - 0.5) * (1 + j)));
      const ref = fitReference(rows);
      // Dense: S = Xc^T Xc / n, mu = tr S / d, shrinkage = min(beta, delta) / delta (sklearn's ledoit_wolf).
      const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, x) => s + x[j], 0) / n);
      const xc = rows.map((x) => Array.from(x, (v, j) => v - mean[j]));
      const S = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => xc.reduce((s, x) => s + x[i] * x[j], 0) / n));
      const mu = S.reduce((s, row, i) => s + row[i], 0) / d;
      const delta = S.reduce((s, row, i) => s + row.reduce((t, v, j) => t + (v - (i === j ? mu : 0)) ** 2, 0), 0);
      const beta =
        xc.reduce((s, x) => s + S.reduce((t, row, i) => t + row.reduce((u, v, j) => u + (x[i] * x[j] - v) ** 2, 0), 0), 0) / (n * n);
      const shrink = Math.min(beta, delta) / delta;
      assert.ok(Math.abs(ref.shrinkage - shrink) < 1e-10, `shrinkage ${ref.shrinkage} vs ${shrink}`);
      const sigma = S.map((row, i) => row.map((v, j) => (1 - shrink) * v + (i === j ? shrink * mu : 0)));
      const inv = inverse(sigma);
      for (let q = 0; q < 5; q++) {
        const v = Float64Array.from({ length: d }, () => (r() - 0.5) * 3);
        const z = Array.from(v, (x, j) => x - mean[j]);
        const dense = Math.sqrt(z.reduce((s, zi, i) => s + zi * inv[i].reduce((t, w, j) => t + w * z[j], 0), 0));
        const got = mahalanobis(ref, v);
        assert.ok(Math.abs(got - dense) <= 1e-8 * dense, `distance ${got} vs ${dense}`);
      }
    });
  }

  it("AUROC and quantiles on hand-computed examples", () => {
    assert.equal(auroc([3, 4], [1, 2]), 1);
    assert.equal(auroc([1, 2], [3, 4]), 0);
    assert.equal(auroc([2, 3], [1, 2]), 0.875); // pairs: 2>1, 2=2 (half), 3>1, 3>2 -> 3.5 / 4
    assert.equal(quantile([1, 2, 3, 4, 5], 0.5), 3);
    assert.equal(quantile([0, 10], 0.95), 9.5);
  });

  describe("on demo-llama with the shipped labelled set", () => {
    let model: LoadedModel;
    let tok: TextTokenizer;
    before(async () => {
      model = await openModel(path.join(ROOT, "models/demo-llama"));
      tok = await loadTokenizer(path.join(ROOT, "models/demo-llama"));
    });
    after(async () => model?.dispose());

    it("reaches AUROC 0.861 at layer 5, its best layer (stated in docs/activation-shift.md)", async () => {
      const benign = readPrompts(path.join(ROOT, "demo/shift/benign.introspect"), "--reference").map((p) => p.text);
      const labelled = readPrompts(path.join(ROOT, "demo/shift/labelled.jsonl"), "--labelled");
      assert.equal(benign.length, 40);
      assert.equal(labelled.length, 60);
      const det = await fitDetectors(model, tok, benign);
      const ev = await evaluateDetectors(model, tok, det, labelled);
      console.log(
        `      AUROC per layer: ${ev.auroc.map((a) => a.toFixed(3)).join(" ")}; thresholds ${det.map((x) => x.threshold.toFixed(2)).join(" ")}`,
      );
      assert.equal(ev.best, 5);
      assert.ok(Math.abs(ev.auroc[5] - 0.861) < 0.0005, `AUROC ${ev.auroc[5]}`);
      // Breakdown: the rows generated from the training templates (held out) and the rows written anew.
      const rows = fs
        .readFileSync(path.join(ROOT, "demo/shift/labelled.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { source: string });
      for (const src of new Set(rows.map((r) => r.source))) {
        const idx = rows.map((r, i) => (r.source === src ? i : -1)).filter((i) => i >= 0);
        const pos = idx.filter((i) => labelled[i].injection).map((i) => ev.scores[5][i]);
        const neg = idx.filter((i) => !labelled[i].injection).map((i) => ev.scores[5][i]);
        console.log(`      ${src}: AUROC ${auroc(pos, neg).toFixed(3)} (${pos.length} injection, ${neg.length} benign)`);
      }
    });

    it("the demo prompt file's injection prompts score above the threshold and its ordinary ones below", async () => {
      const file = parsePromptFile(fs.readFileSync(path.join(ROOT, "demo/injection.introspect"), "utf8"));
      assert.equal(file.options.shiftReference?.value, "shift/benign.introspect");
      assert.equal(file.options.shiftLayer?.value, 5);
      const benign = readPrompts(path.join(ROOT, "demo/shift", "benign.introspect"), "--reference").map((p) => p.text);
      const det = (await fitDetectors(model, tok, benign))[5];
      const prompts = file.blocks.flatMap((b) =>
        b.kind === "prompt" && b.text && b.name ? [{ name: b.name.value, text: b.text.text }] : [],
      );
      const feats = await layerFeatures(
        model,
        tok,
        prompts.map((p) => p.text),
      );
      prompts.forEach((p, i) => {
        const s = mahalanobis(det.reference, feats[5][i]);
        assert.equal(s > det.threshold, p.name.startsWith("injection"), `${p.name}: ${s} against ${det.threshold}`);
      });
    });
  });
});

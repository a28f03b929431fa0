// Activation sparsity on demo-llama: the zeroing edit against PyTorch (perplexity with every MLP
// activation below a threshold set to 0, tools/models/sparsity_ref.py); PPL-p% sparsity for p = 1
// and 5: zeroing at the found threshold raises perplexity by at most p%, the next threshold up by
// more (both measured again here); exact-zero and below-threshold shares counted directly.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { mlpSites, pplSparsity, sparsityPerLayer } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
const TEXTS = fs
  .readFileSync(path.join(ROOT, "demo/shift/texts.txt"), "utf8")
  .split(/\n\s*\n/)
  .map((t) => t.trim())
  .filter(Boolean);
const REF = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/shift/sparsity-ppl.json"), "utf8")) as {
  rows: number[][];
  ppl: Record<string, number>;
};

/** Perplexity computed here from the logits of runs with the zeroing edit. */
async function ppl(model: LoadedModel, rows: number[][], threshold?: number): Promise<number> {
  const sites = mlpSites(model);
  let nll = 0;
  let n = 0;
  for (const ids of rows) {
    const r = await model.run({ ids, zeroBelow: threshold === undefined ? undefined : sites.map((site) => ({ site, threshold })) });
    const V = r.logits.dims[1];
    for (let t = 0; t + 1 < ids.length; t++) {
      const row = Array.from(r.logits.data.subarray(t * V, (t + 1) * V));
      const m = Math.max(...row);
      nll += m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) - row[ids[t + 1]];
      n++;
    }
  }
  return Math.exp(nll / n);
}

describe("activation sparsity on demo-llama", function () {
  this.timeout(600000);
  let model: LoadedModel;
  let tok: TextTokenizer;
  before(async () => {
    model = await openModel(path.join(ROOT, "models/demo-llama"));
    tok = await loadTokenizer(path.join(ROOT, "models/demo-llama"));
  });
  after(async () => model?.dispose());

  it("the text set tokenises as the PyTorch reference was given it", () => {
    assert.deepEqual(
      TEXTS.map((t) => tok.encode(t).map((x) => x.id)),
      REF.rows,
    );
  });

  it("perplexity with small activations zeroed matches PyTorch at every reference threshold", async () => {
    for (const [key, want] of Object.entries(REF.ppl)) {
      const got = await ppl(model, REF.rows, key === "baseline" ? undefined : Number(key));
      assert.ok(Math.abs(got - want) <= 1e-4 * want, `${key}: ${got} vs PyTorch ${want}`);
    }
  });

  it("zeroed captures hold only 0 or values at least the threshold, the rest unchanged at layer 0", async () => {
    const ids = REF.rows[0];
    const site = "blocks.0.mlp.hook_post";
    const plain = (await model.run({ ids, capture: [site] })).captures.get(site)!.data;
    const zeroed = (
      await model.run({ ids, capture: [site], zeroBelow: mlpSites(model).map((s) => ({ site: s, threshold: 0.2 })) })
    ).captures.get(site)!.data;
    let zeros = 0;
    for (let i = 0; i < plain.length; i++) {
      if (Math.abs(plain[i]) < 0.2)
        assert.ok(zeroed[i] === 0, `${i}: ${zeroed[i]}`); // -0 for negative entries
      else assert.equal(zeroed[i], plain[i]);
      zeros += Number(zeroed[i] === 0);
    }
    assert.ok(zeros > 0 && zeros < plain.length);
  });

  it("exact-zero and below-threshold shares equal a direct count (SwiGLU: no exact zeros)", async () => {
    const layers = await sparsityPerLayer(model, tok, TEXTS, 0.01);
    assert.equal(layers.length, 6);
    for (const l of layers) {
      let below = 0;
      let exact = 0;
      let n = 0;
      for (const ids of REF.rows) {
        const d = (await model.run({ ids, capture: [l.site] })).captures.get(l.site)!.data;
        for (const v of d) {
          below += Number(Math.abs(v) < 0.01);
          exact += Number(v === 0);
          n++;
        }
      }
      assert.equal(l.values, n);
      assert.equal(l.belowThreshold, below / n);
      assert.equal(l.exactZero, exact / n);
    }
    console.log(`      below 0.01 per layer: ${layers.map((l) => (100 * l.belowThreshold).toFixed(1) + "%").join(" ")}`);
  });

  for (const p of [1, 5]) {
    it(`PPL-${p}% sparsity: the found threshold raises perplexity by at most ${p}%, the next one up by more`, async () => {
      const r = await pplSparsity(model, tok, TEXTS, p);
      const base = await ppl(model, REF.rows);
      assert.ok(Math.abs(base - r.baseline) <= 1e-9 * base);
      assert.ok(r.next, "the search ended below the bound at every step");
      const atFound = await ppl(model, REF.rows, r.found.threshold);
      const atNext = await ppl(model, REF.rows, r.next.threshold);
      assert.ok(atFound <= base * (1 + p / 100), `found: ${atFound} against ${base}`);
      assert.ok(atNext > base * (1 + p / 100), `next: ${atNext} against ${base}`);
      assert.equal(r.next.k, r.found.k + 1);
      assert.ok(r.found.threshold < r.next.threshold && r.found.share > 0);
      console.log(
        `      PPL-${p}%: ${(100 * r.found.share).toFixed(1)}% zeroed (|x| < ${r.found.threshold.toPrecision(4)}), perplexity ${base.toFixed(4)} -> ${atFound.toFixed(4)} (+${(100 * (atFound / base - 1)).toFixed(2)}%); next step ${(100 * r.next.share).toFixed(1)}% -> ${atNext.toFixed(4)} (+${(100 * (atNext / base - 1)).toFixed(2)}%); ${r.tried.length} searches`,
      );
    });
  }
});

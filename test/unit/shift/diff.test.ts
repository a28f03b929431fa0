// Two-model diff on demo-llama against its q4 and int8 variants and its fine-tuned copy: every
// number equals a direct computation from the tensors the two models capture; the tuned pair's
// largest drift is the layer whose weights the tuning changed most (tools/models/metrics); pairs
// that do not match are refused with a sentence; the fidelity badge is computed once and cached.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IntrospectError, openModel, type LoadedModel } from "../../../src/engine";
import { diffModels, summarise, type ModelDiff } from "../../../src/engine";
import { FIDELITY_TEXTS, fidelityBadge, fidelityUnavailable } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
const LLAMA = path.join(ROOT, "models/demo-llama");
const TUNED = path.join(ROOT, "models/demo-llama-tuned");
const TEXT = "When Mary and John went to the store, John gave a drink to Mary.\ndef add(x):\n    return x + 1";

/** Reference numbers straight from the captured tensors (float64 loops, nothing shared with the engine). */
async function direct(a: LoadedModel, b: LoadedModel, ids: number[]) {
  const L = a.info.numLayers;
  const sites = Array.from({ length: L }, (_, l) => `blocks.${l}.hook_resid_post`);
  const [ra, rb] = [await a.run({ ids, capture: sites }), await b.run({ ids, capture: sites })];
  const T = ids.length;
  const D = a.info.dModel;
  const norm: number[][] = [];
  const cos: number[][] = [];
  const rel: number[][] = [];
  for (const s of sites) {
    const x = ra.captures.get(s)!.data;
    const y = rb.captures.get(s)!.data;
    const n: number[] = [];
    const c: number[] = [];
    const r: number[] = [];
    for (let t = 0; t < T; t++) {
      let dd = 0,
        xx = 0,
        yy = 0,
        xy = 0;
      for (let i = t * D; i < (t + 1) * D; i++) {
        dd += (x[i] - y[i]) ** 2;
        xx += x[i] ** 2;
        yy += y[i] ** 2;
        xy += x[i] * y[i];
      }
      n.push(Math.sqrt(dd));
      c.push(xy / Math.sqrt(xx * yy));
      r.push(Math.sqrt(dd / xx));
    }
    norm.push(n);
    cos.push(c);
    rel.push(r);
  }
  const V = a.info.vocabSize;
  const kl: number[] = [];
  const agree: boolean[] = [];
  for (let t = 0; t < T; t++) {
    const la = Array.from(ra.logits.data.subarray(t * V, (t + 1) * V));
    const lb = Array.from(rb.logits.data.subarray(t * V, (t + 1) * V));
    const za = Math.log(la.reduce((s, v) => s + Math.exp(v), 0));
    const zb = Math.log(lb.reduce((s, v) => s + Math.exp(v), 0));
    kl.push(la.reduce((s, v, i) => s + Math.exp(v - za) * (v - za - (lb[i] - zb)), 0));
    agree.push(la.indexOf(Math.max(...la)) === lb.indexOf(Math.max(...lb)));
  }
  const meanRel = rel.map((r) => r.reduce((s, v) => s + v, 0) / T);
  const rises = meanRel.map((m, l) => m - (l ? meanRel[l - 1] : 0));
  return { norm, cos, rel, kl, agree, drift: rises.indexOf(Math.max(...rises)) };
}

function close(got: number, want: number, what: string, tol = 1e-5) {
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
}

describe("two-model diff on demo-llama", function () {
  this.timeout(600000);
  const models: Record<string, LoadedModel> = {};
  let tok: TextTokenizer;
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-shift-"));
  before(async () => {
    tok = await loadTokenizer(LLAMA);
    models.fp32 = await openModel(LLAMA, { cacheDir: cache });
    models.q4 = await openModel(LLAMA, { variant: "q4", cacheDir: cache });
    models.int8 = await openModel(LLAMA, { variant: "int8", cacheDir: cache });
    models.tuned = await openModel(TUNED, { cacheDir: cache });
  });
  after(async () => {
    for (const m of Object.values(models)) await m.dispose();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  for (const other of ["q4", "int8", "tuned"]) {
    it(`fp32 against ${other}: every number equals a direct computation from the captured tensors`, async () => {
      const d = await diffModels({ model: models.fp32, tok }, { model: models[other], tok }, TEXT);
      const ref = await direct(
        models.fp32,
        models[other],
        d.tokens.map((t) => t.id),
      );
      const T = d.tokens.length;
      for (let l = 0; l < d.layers; l++)
        for (let t = 0; t < T; t++) {
          close(d.norm[l * T + t], ref.norm[l][t], `norm ${l},${t}`);
          close(d.cosine[l * T + t], ref.cos[l][t], `cosine ${l},${t}`);
          close(d.relative[l * T + t], ref.rel[l][t], `relative ${l},${t}`);
        }
      for (let t = 0; t < T; t++) close(d.kl[t], ref.kl[t], `KL ${t}`, 1e-4);
      const agree = ref.agree.filter(Boolean).length / T;
      close(d.summary.top1Agreement, agree, "top-1 agreement");
      close(d.summary.meanKL, ref.kl.reduce((s, v) => s + v, 0) / T, "mean KL", 1e-4);
      assert.equal(d.summary.driftLayer, ref.drift);
      assert.match(
        d.summary.text,
        new RegExp(`^${other === "tuned" ? "demo-llama-tuned vs demo-llama" : `${other} vs fp32`}: top-1 agreement`),
      );
      // Quantisation and tuning both move something: no pair is identical.
      assert.ok(d.summary.meanKL > 0 && Math.max(...d.meanRelative) > 0);
      console.log(
        `      ${d.summary.text} (${T} tokens; mean relative difference per layer ${Array.from(d.meanRelative, (x) => x.toFixed(3)).join(" ")})`,
      );
    });
  }

  it("the tuned copy's largest drift sits at the layer whose weights the tuning changed most", async () => {
    const metrics = JSON.parse(fs.readFileSync(path.join(ROOT, "tools/models/metrics/demo-llama-tuned.json"), "utf8")) as {
      relative_weight_change: Record<string, number>;
    };
    const layers = Object.entries(metrics.relative_weight_change).filter(([k]) => k.startsWith("layer "));
    const most = Number(layers.sort((a, b) => b[1] - a[1])[0][0].slice(6));
    assert.equal(most, 2);
    const diffs: ModelDiff[] = [];
    for (const text of [TEXT, ...FIDELITY_TEXTS])
      diffs.push(await diffModels({ model: models.fp32, tok }, { model: models.tuned, tok }, text));
    for (const d of diffs) {
      // Layers before the tuned one are untouched: exactly the same residual.
      for (let l = 0; l < most; l++) assert.equal(d.meanRelative[l], 0, `layer ${l} differs`);
      assert.equal(d.summary.driftLayer, most, d.summary.text);
    }
    const pooled = summarise(diffs);
    assert.equal(pooled.driftLayer, most);
    console.log(`      pooled over ${diffs.length} texts: ${pooled.text}`);
  });

  it("refuses two models whose layers, width or vocabulary differ, with one sentence", async () => {
    const gpt2 = await openModel(path.join(ROOT, "models/demo-gpt2"), { cacheDir: cache });
    try {
      const gtok = await loadTokenizer(path.join(ROOT, "models/demo-gpt2"));
      await assert.rejects(
        diffModels({ model: models.fp32, tok }, { model: gpt2, tok: gtok }, TEXT),
        (e: unknown) =>
          e instanceof IntrospectError &&
          /^demo-llama and demo-gpt2 cannot be compared position by position: they have 6 layers against 4\. Compare/.test(e.message),
      );
    } finally {
      await gpt2.dispose();
    }
  });

  it("a fidelity badge for q4 against the folder's fp32 model, computed once and then read from the cache", async () => {
    assert.match(fidelityUnavailable(models.fp32)!, /reference itself/);
    const first = await fidelityBadge(models.q4, tok, { cacheDir: cache });
    assert.ok(first && !first.cached);
    assert.match(first.summary.text, /^q4 vs fp32: top-1 agreement \d+\.\d%, mean KL/);
    assert.equal(fs.readdirSync(path.join(cache, "fidelity")).length, 1);
    const again = await fidelityBadge(models.q4, tok, { cacheDir: cache });
    assert.ok(again?.cached);
    assert.deepEqual(again.summary, first.summary);
    assert.deepEqual(fs.readdirSync(path.join(LLAMA, "onnx")).sort(), ["model.onnx", "model_int8.onnx", "model_q4.onnx"]);
    console.log(`      badge: ${first.summary.text} over ${first.summary.tokens} tokens`);
  });

  it("a fidelity badge on a model with fewer positions than the built-in texts have tokens: the texts are cut to its context", async () => {
    const folder = path.join(__dirname, "../../fixtures/merged/llama");
    const q4 = await openModel(folder, { variant: "q4", cacheDir: cache });
    try {
      const small = await loadTokenizer(folder);
      const longest = Math.max(...FIDELITY_TEXTS.map((t) => small.encode(t).length));
      assert.ok(
        q4.contextLength !== undefined && longest > q4.contextLength,
        `the test needs a text over ${q4.contextLength} tokens (${longest})`,
      );
      const badge = await fidelityBadge(q4, small, { cacheDir: cache });
      assert.ok(badge);
      assert.ok(badge.summary.tokens <= FIDELITY_TEXTS.length * q4.contextLength!);
      assert.match(badge.summary.text, /^q4 vs fp32: top-1 agreement/);
    } finally {
      await q4.dispose();
    }
  });
});

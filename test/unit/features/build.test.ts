// `introspect dictionary`: a dictionary made from the demo corpus on demo-llama, start to end (the
// same engine call the "Build Feature Dictionary" command makes in the host). The figures it saves
// are measured again here from the written files alone: the held-out activations are taken with a
// plain model run, and the encoder, decoder, explained variance, L0 and densities are this file's
// own loops over the raw safetensors, not the engine's dictionary code.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Io } from "../../../src/cli/common";
import { main } from "../../../src/cli/main";
import { readCorpus } from "../../../src/engine";
import { readSafetensors, toFloat32 } from "../../../src/engine/safetensors";
import { DEMO_LLAMA, ROOT, useDemoModel } from "../helpers/demoModel";

const CORPUS = path.join(ROOT, "models/data/feature-corpus.jsonl");

/** Runs the CLI in this process; with `cancelOn`, its cancel token is set at the first stderr line matching it. */
async function cli(args: string[], cancelOn?: RegExp): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const cancel = { isCancellationRequested: false };
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => {
      err += t;
      if (cancelOn?.test(t)) cancel.isCancellationRequested = true;
    },
    stdin: async () => "",
    cancel,
  };
  return { code: await main(args, io), out, err };
}

interface Cfg {
  architecture: string;
  d_in: number;
  d_sae: number;
  apply_b_dec_to_input: boolean;
  k?: number;
  metadata: { hook_name: string; introspect: Record<string, number | string | boolean | null> };
}

/** Explained variance, L0 and log10 densities of the saved dictionary on rows x, from the files alone. */
function measureFromFiles(folder: string, x: Float32Array): { ev: number; l0: number; logDensity: Float32Array; cfg: Cfg } {
  const cfg = JSON.parse(fs.readFileSync(path.join(folder, "cfg.json"), "utf8")) as Cfg;
  const t = readSafetensors(path.join(folder, "sae_weights.safetensors")).tensors;
  const [W_enc, W_dec, b_enc, b_dec] = ["W_enc", "W_dec", "b_enc", "b_dec"].map((n) => toFloat32(t.get(n)!));
  const d = cfg.d_in;
  const m = cfg.d_sae;
  const n = x.length / d;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let i = 0; i < d; i++) mean[i] += x[r * d + i] / n;
  let res = 0;
  let tot = 0;
  let active = 0;
  const fired = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    const f = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      let v = b_enc[j];
      for (let i = 0; i < d; i++) v += (x[r * d + i] - (cfg.apply_b_dec_to_input ? b_dec[i] : 0)) * W_enc[i * m + j];
      f[j] = v;
    }
    if (cfg.architecture === "topk") {
      const kth = [...f].sort((a, b) => b - a)[(cfg.k ?? m) - 1];
      for (let j = 0; j < m; j++) if (f[j] < kth) f[j] = 0;
    }
    for (let j = 0; j < m; j++) {
      if (f[j] < 0) f[j] = 0;
      if (f[j] > 0) {
        active++;
        fired[j]++;
      }
    }
    for (let i = 0; i < d; i++) {
      let v = b_dec[i];
      for (let j = 0; j < m; j++) if (f[j]) v += f[j] * W_dec[j * d + i];
      res += (x[r * d + i] - v) ** 2;
      tot += (x[r * d + i] - mean[i]) ** 2;
    }
  }
  return {
    ev: 1 - res / tot,
    l0: active / n,
    logDensity: Float32Array.from(fired, (c) => (c > 0 ? Math.log10(c / n) : -10)),
    cfg,
  };
}

describe("introspect dictionary: a dictionary made from a corpus on demo-llama", function () {
  this.timeout(600_000);
  const demo = useDemoModel();
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-dict-"))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** The held-out texts' activations at `site` (the last tenth of the first `texts`, 64 tokens each), by plain runs. */
  async function heldOut(texts: number, site: string): Promise<Float32Array> {
    const all = readCorpus(CORPUS).slice(0, texts);
    const rows: number[] = [];
    for (const text of all.slice(texts - Math.floor(texts / 10))) {
      const ids = demo.tok
        .encode(text)
        .map((t) => t.id)
        .slice(0, 64);
      const cap = (await demo.model.run({ ids, capture: [site] })).captures.get(site)!;
      rows.push(...cap.data);
    }
    return Float32Array.from(rows);
  }

  for (const c of [
    { method: "snmf", features: 24, iterations: 30, texts: 200, site: "blocks.2.mlp.hook_post", width: 384, minEv: 0.2 },
    { method: "topk", features: 64, iterations: 300, texts: 120, site: "blocks.1.hook_resid_post", width: 128, minEv: 0.5 },
  ]) {
    it(`${c.method}: ${c.texts} texts, progress on stderr, a SAELens folder whose saved figures hold on the held-out texts`, async () => {
      // The SNMF folder's parent does not exist yet: it is made.
      const out = c.method === "snmf" ? path.join(tmp, "new", "parent", c.method) : path.join(tmp, c.method);
      const layer = c.site.split(".")[1];
      const r = await cli([
        "dictionary",
        ...["--model", DEMO_LLAMA, "--corpus", CORPUS, "--out", out, "--method", c.method, "--layer", layer],
        ...["--features", String(c.features), "--iterations", String(c.iterations), "--texts", String(c.texts), "--json"],
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.err, new RegExp(`^activations: ${c.texts} of ${c.texts} texts$`, "m"));
      assert.match(r.err, new RegExp(`^fitting: (iteration|step) ${c.iterations} of ${c.iterations}\\b`, "m"));
      assert.deepEqual(fs.readdirSync(out).sort(), ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"]);
      const res = JSON.parse(r.out) as {
        site: string;
        dSae: number;
        heldOutTexts: number;
        quality: { explainedVariance: number; l0: number };
      };
      assert.equal(res.site, c.site);
      assert.equal(res.dSae, c.features);
      assert.equal(res.heldOutTexts, c.texts / 10);

      const x = await heldOut(c.texts, c.site);
      const m = measureFromFiles(out, x);
      assert.equal(m.cfg.metadata.hook_name, c.site);
      assert.deepEqual([m.cfg.d_in, m.cfg.d_sae], [c.width, c.features]);
      assert.equal(m.cfg.metadata.introspect.held_out_rows, x.length / c.width, "held-out tokens");
      assert.ok(
        Math.abs(m.ev - res.quality.explainedVariance) < 1e-4,
        `explained variance: saved ${res.quality.explainedVariance}, measured ${m.ev}`,
      );
      assert.ok(Math.abs(m.ev - Number(m.cfg.metadata.introspect.explained_variance)) < 1e-4, "cfg.json's figure");
      assert.ok(Math.abs(m.l0 - res.quality.l0) < 1e-6, `L0: saved ${res.quality.l0}, measured ${m.l0}`);
      assert.ok(m.ev > c.minEv, `explained variance ${m.ev} on held-out texts`);
      if (c.method === "topk") assert.ok(m.l0 <= 16, `L0 ${m.l0}`);
      const sparsity = toFloat32(readSafetensors(path.join(out, "sparsity.safetensors")).tensors.get("sparsity")!);
      let worst = 0;
      for (let j = 0; j < c.features; j++) worst = Math.max(worst, Math.abs(sparsity[j] - m.logDensity[j]));
      assert.ok(worst < 1e-4, `log10 densities differ by up to ${worst}`);
    });
  }

  it("a folder that is not empty is refused before the model opens, and left as it was", async () => {
    const out = path.join(tmp, "taken");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    const started = Date.now();
    const r = await cli(["dictionary", "--model", DEMO_LLAMA, "--corpus", CORPUS, "--out", out]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /^introspect: .*taken is not empty: choose a new or empty folder, so nothing in it is overwritten\.\n$/);
    assert.deepEqual(fs.readdirSync(out), ["notes.txt"]);
    assert.ok(Date.now() - started < 5000, "refused without opening the model");
  });

  it("a cancel during the fit exits 130 and writes nothing", async () => {
    const out = path.join(tmp, "cancelled");
    const r = await cli(
      [
        "dictionary",
        ...["--model", DEMO_LLAMA, "--corpus", CORPUS, "--out", out, "--texts", "40", "--features", "16", "--iterations", "400"],
      ],
      /^fitting:/,
    );
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /^fitting: step 40 of 400\b/m);
    assert.doesNotMatch(r.err, /step 80 of 400/, "stopped within the next 40 steps");
    assert.equal(fs.existsSync(out), false, "no folder left behind");
  });

  it("bad arguments get one sentence each", async () => {
    const base = ["dictionary", "--model", DEMO_LLAMA, "--corpus", CORPUS, "--out", path.join(tmp, "x")];
    const cases: Array<[string[], number, RegExp]> = [
      [["--method", "pca"], 1, /--method must be one of snmf, topk, relu-l1 \(got "pca"\)/],
      [["--layer", "9"], 1, /--layer 9 is too large: at most 5/],
      [["--features", "1"], 1, /--features must be a whole number >= 2/],
      [
        ["--method", "snmf", "--features", "4000", "--texts", "5"],
        2,
        /4000 features need at least 4000 tokens to learn from; the corpus gave \d+/,
      ],
    ];
    for (const [extra, code, msg] of cases) {
      const r = await cli([...base, ...extra]);
      assert.equal(r.code, code, `${extra.join(" ")}: ${r.err}`);
      assert.match(r.err, msg, extra.join(" "));
      assert.equal(fs.existsSync(path.join(tmp, "x")), false);
    }
    fs.writeFileSync(path.join(tmp, "a-file"), "");
    const underFile = await cli(["dictionary", "--model", DEMO_LLAMA, "--corpus", CORPUS, "--out", path.join(tmp, "a-file", "sub", "d")]);
    assert.equal(underFile.code, 2, underFile.err);
    assert.match(underFile.err, /a-file is a file: the dictionary's folder cannot go under it\./);
    const missing = await cli([
      "dictionary",
      "--model",
      DEMO_LLAMA,
      "--corpus",
      path.join(tmp, "none.jsonl"),
      "--out",
      path.join(tmp, "y"),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /The corpus .*none\.jsonl does not exist\./);
  });
});

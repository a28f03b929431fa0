// onnxruntime-genai builder graphs (test/fixtures/genai, made by tools/models/genai_fixtures.py):
// GroupQueryAttention (separate or packed QKV, rotary inside or as RotaryEmbedding nodes),
// SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization, MatMulNBits 4-bit weights and
// GatherBlockQuantized tied embeddings. Each fixture is compared with an independent PyTorch model on
// the same (for 4-bit: dequantised) weights: every site, steering at every kind of site, patching,
// and greedy generation with and without the key/value cache.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel, unembedResidual, IntrospectError, type LoadedModel } from "../../../src/engine";
import { findFaithCases, faithfulnessOf, formatFaithTable } from "../../../src/engine";
import { generate, modelDecoderFactory } from "../../../src/engine";
import { parseSafetensors, toFloat32, type SafeTensor } from "../../../src/engine";
import type { HookName } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
const GENAI = path.join(ROOT, "test", "fixtures", "genai");

interface Manifest {
  prompts: Array<{ ids: number[] }>;
  sites: string[];
  config: { layers: number; d_model: number };
  tolerance: { abs: number; graph_specific?: boolean };
  steering: { site: string; alpha: number; vector: string };
  steering_cases: Array<{ site: string; alpha: number; prompt_ids: number[]; vector: string; logits: string }>;
  patching: { clean_ids: number[]; corrupt_ids: number[] };
  patching_cases: Array<{ site: string; position: number; logits: string }>;
  generation: { prompt_ids: number[]; greedy_ids: number[] };
}

/** max |a - b| over the last rows of `a` that `b` holds, and max |b|. */
function lastRowsError(a: Float32Array, b: Float32Array): { err: number; refMax: number } {
  assert.ok(a.length >= b.length && b.length > 0, `engine ${a.length} values, reference ${b.length}`);
  const off = a.length - b.length;
  let err = 0;
  let refMax = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[off + i] - b[i]);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
    refMax = Math.max(refMax, Math.abs(b[i]));
  }
  return { err, refMax };
}

async function greedy(m: LoadedModel, prompt: number[], n: number, useKvCache: boolean, steer = new Map<HookName, Float32Array>()) {
  const ids: number[] = [];
  for await (const t of generate(modelDecoderFactory(m, { useKvCache }), prompt, { maxTokens: n, steer })) ids.push(t.id);
  return ids;
}

describe("onnxruntime-genai builder graphs", function () {
  this.timeout(600000);
  const cases = findFaithCases(ROOT).filter((c) => c.name.startsWith("genai/"));

  it("finds every fixture folder as a faithfulness case", () => {
    const folders = fs.readdirSync(GENAI).filter((f) => fs.existsSync(path.join(GENAI, f, "reference", "manifest.json")));
    assert.ok(folders.length >= 5, `fixtures: ${folders.join(", ")}`);
    assert.deepStrictEqual(cases.map((c) => c.name.replace(/^genai\//, "")).sort(), folders.sort());
  });

  for (const c of cases) {
    describe(c.name, () => {
      let m: LoadedModel;
      let manifest: Manifest;
      let ref: Map<string, SafeTensor>;
      let tol: number;
      const within = (what: string, e: { err: number; refMax: number }) =>
        assert.ok(
          e.err <= tol * Math.max(1, e.refMax),
          `${what}: max error ${e.err.toExponential(2)}, tolerance ${tol} x ${e.refMax.toFixed(2)}`,
        );

      before(async () => {
        manifest = JSON.parse(fs.readFileSync(path.join(c.referenceDir, "manifest.json"), "utf8")) as Manifest;
        const file = path.join(c.referenceDir, "tensors.safetensors");
        ref = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file).tensors;
        tol = manifest.tolerance.abs;
        m = await openModel(c.modelPath);
      });
      after(async () => {
        m.removeWrittenFiles();
        await m.dispose();
      });

      it("opens with a confirmed map: config.json, genai_config.json, key/value pairs, node names and head counts agree", () => {
        const checks = m.info.checks ?? [];
        assert.deepStrictEqual(
          checks.filter((k) => k.verdict !== "agree"),
          [],
        );
        const sources = checks.map((k) => `${k.what}: ${k.source}`);
        for (const s of [
          "layers: config.json num_hidden_layers",
          "layers: genai_config.json model.decoder.num_hidden_layers",
          "layers: past_key_values inputs (one key/value pair per layer)",
          "layers: present outputs (one key/value pair per layer)",
          "layers: layer numbers in node names",
          "width: genai_config.json model.decoder.hidden_size",
          "heads: config.json num_attention_heads",
          "kv heads: genai_config.json model.decoder.num_key_value_heads",
        ])
          assert.ok(sources.includes(s), `missing check ${s} in ${sources.join("; ")}`);
        const att = checks.find((k) => k.what === "attention")!;
        assert.strictEqual(att.graph, manifest.config.layers);
        assert.strictEqual(m.info.numLayers, manifest.config.layers);
        assert.strictEqual(m.info.dModel, manifest.config.d_model);
        assert.ok(m.info.hasKvCache);
        assert.ok(m.info.exportStyle.startsWith("ort-fused"), m.info.exportStyle);
        assert.ok(
          m.info.notes.some((n) => n.includes("GroupQueryAttention")),
          m.info.notes.join("; "),
        );
        for (const s of manifest.sites) assert.ok(m.info.sites.includes(s), `site ${s} not mapped`);
        // The reference covers every site the map offers except attention patterns (fused attention has none).
        assert.deepStrictEqual(m.info.sites.filter((s) => !manifest.sites.includes(s)).sort(), []);
      });

      it("every site, the logits, steering, patching and the patching grid are within the stated tolerance", async () => {
        assert.ok(manifest.tolerance.graph_specific, "the reference states a tolerance for this graph");
        const rows = await faithfulnessOf(c, m);
        const sites = new Set(rows.map((r) => r.site));
        for (const s of [...manifest.sites, "logits", "steer/logits", "patch/logits", "patch/grid", "map/layers"])
          assert.ok(sites.has(s), `row ${s} missing`);
        assert.ok(rows.every((r) => r.tolerance === tol || r.site === "map/layers"));
        const bad = rows.filter((r) => !r.pass);
        assert.deepStrictEqual(
          bad.map((r) => r.site),
          [],
          `\n${formatFaithTable(bad)}`,
        );
      });

      it("steering at every kind of site (plain tensors, fused-norm sums through the skip input, the final norm's sum)", async () => {
        assert.ok(manifest.steering_cases.length >= 8);
        const fusedSites = manifest.steering_cases.filter((s) => m.map.sites.get(s.site)?.fusedSkipNode !== undefined);
        assert.ok(fusedSites.length >= 2, "no steering case goes through a fused norm's skip input");
        for (const s of manifest.steering_cases) {
          const vector = toFloat32(ref.get(s.vector)!);
          const base = await m.run({ ids: s.prompt_ids });
          const r = await m.run({ ids: s.prompt_ids, steer: [{ site: s.site as HookName, vector, scale: s.alpha }] });
          const want = toFloat32(ref.get(s.logits)!);
          within(`steer ${s.site}`, lastRowsError(r.logits.data, want));
          // The steering moved the logits far more than the tolerance: the check could fail.
          assert.ok(lastRowsError(base.logits.data, want).err > 20 * tol, `steering ${s.site} changed nothing`);
        }
      });

      it("patching a clean activation into the corrupted run, at fused and plain sites", async () => {
        const clean = await m.run({
          ids: manifest.patching.clean_ids,
          capture: manifest.patching_cases.map((p) => p.site as HookName),
        });
        const base = await m.run({ ids: manifest.patching.corrupt_ids });
        for (const p of manifest.patching_cases) {
          const r = await m.run({
            ids: manifest.patching.corrupt_ids,
            patch: [{ site: p.site as HookName, positions: [p.position], values: clean.captures.get(p.site as HookName)! }],
          });
          const want = toFloat32(ref.get(p.logits)!);
          within(`patch ${p.site}`, lastRowsError(r.logits.data, want));
          assert.ok(lastRowsError(base.logits.data, want).err > 20 * tol, `patching ${p.site} changed nothing`);
        }
      });

      it("greedy generation is the same with and without the key/value cache, steered too, and matches PyTorch", async () => {
        const g = manifest.generation;
        const withKv = await greedy(m, g.prompt_ids, g.greedy_ids.length, true);
        const without = await greedy(m, g.prompt_ids, g.greedy_ids.length, false);
        assert.deepStrictEqual(withKv, without);
        assert.deepStrictEqual(withKv, g.greedy_ids);
        const v = toFloat32(ref.get(manifest.steering.vector)!).map((x) => x * 4 * manifest.steering.alpha);
        const steer = new Map<HookName, Float32Array>([[manifest.steering.site as HookName, v]]);
        const steeredKv = await greedy(m, g.prompt_ids, g.greedy_ids.length, true, steer);
        const steered = await greedy(m, g.prompt_ids, g.greedy_ids.length, false, steer);
        assert.deepStrictEqual(steeredKv, steered);
        assert.notDeepStrictEqual(steeredKv, withKv, "steering did not change the continuation");
      });

      it("decodeStep in chunks (several tokens after a past) equals the full pass, for one row and for a batch", async () => {
        const ids = manifest.prompts[0].ids;
        const full = await m.run({ ids, capture: ["ln_final.hook_normalized"] });
        const s1 = await m.decodeStep([ids.slice(0, 5)]);
        const s2 = await m.decodeStep([ids.slice(5, 6)], s1.cache);
        const s3 = await m.decodeStep([ids.slice(6)], s2.cache, { capture: ["ln_final.hook_normalized"] });
        const V = m.info.vocabSize;
        const joined = new Float32Array([...s1.logits.data, ...s2.logits.data, ...s3.logits.data]);
        within("chunked logits", lastRowsError(joined, full.logits.data));
        within(
          "chunked ln_final",
          lastRowsError(full.captures.get("ln_final.hook_normalized")!.data, s3.captures.get("ln_final.hook_normalized")!.data),
        );
        assert.strictEqual(s3.cache.length, ids.length);
        // Two rows continued by several tokens each (run one row at a time inside).
        const other = manifest.prompts[1].ids.slice(0, 6).concat([11, 12, 13, 14, 15, 16]);
        const b1 = await m.decodeStep([ids.slice(0, 5), other.slice(0, 5)]);
        const b2 = await m.decodeStep([ids.slice(5), other.slice(5, ids.length)], b1.cache);
        assert.deepStrictEqual(b2.logits.dims, [2, ids.length - 5, V]);
        const single = await m.run({ ids: other.slice(0, ids.length) });
        within("batched chunk row 0", lastRowsError(b2.logits.data.subarray(0, (ids.length - 5) * V), full.logits.data.subarray(5 * V)));
        within("batched chunk row 1", lastRowsError(b2.logits.data.subarray((ids.length - 5) * V), single.logits.data.subarray(5 * V)));
      });

      it("the logit lens through the final SkipSimplifiedLayerNormalization (zero skip) and the model's own head gives its logits", async () => {
        const ids = manifest.prompts[1].ids;
        const last = `blocks.${m.info.numLayers - 1}.hook_resid_post` as HookName;
        const full = await m.run({ ids, capture: [last, "blocks.0.hook_resid_post"] });
        const l = await unembedResidual(m, full.captures.get(last)!);
        within("lens of the last layer", lastRowsError(l.data, full.logits.data));
        const early = await unembedResidual(m, full.captures.get("blocks.0.hook_resid_post")!);
        assert.ok(lastRowsError(early.data, full.logits.data).err > 20 * tol, "the lens ignored its input");
      });

      it("a batch of prompts of different lengths equals the single runs", async () => {
        const [a, b] = manifest.prompts.map((p) => p.ids);
        const ra = await m.run({ ids: a, capture: ["blocks.1.hook_resid_post"] });
        const rb = await m.run({ ids: b, capture: ["blocks.1.hook_resid_post"] });
        const both = await m.run({ ids: [a, b], capture: ["blocks.1.hook_resid_post"] });
        const V = m.info.vocabSize;
        const S = Math.max(a.length, b.length);
        assert.deepStrictEqual(both.logits.dims, [2, S, V]);
        within("row 0", lastRowsError(both.logits.data.subarray(0, a.length * V), ra.logits.data));
        within("row 1", lastRowsError(both.logits.data.subarray(S * V, S * V + b.length * V), rb.logits.data));
      });
    });
  }

  it("refuses a config.json or genai_config.json that disagrees with the graph, and takes an explicit override", async () => {
    const dir = path.join(GENAI, "llama-fp32");
    await assert.rejects(
      openModel(dir, { config: { num_key_value_heads: 4 }, warm: false }),
      (e: unknown) =>
        e instanceof IntrospectError && e.code === "map-check-failed" && /kv heads: the graph gives 2, config\.json/.test(e.message),
    );
    // An override of num_hidden_layers replaces genai_config.json's value too, so both disagree with the graph's 3.
    await assert.rejects(
      openModel(dir, { config: { num_hidden_layers: 4 }, warm: false }),
      (e: unknown) =>
        e instanceof IntrospectError &&
        /genai_config\.json model\.decoder\.num_hidden_layers says 4/.test(e.message) &&
        /config\.json num_hidden_layers says 4/.test(e.message),
    );
    const m = await openModel(dir, { warm: false });
    assert.strictEqual(m.info.unconfirmed, undefined);
    await m.dispose();
  });
});

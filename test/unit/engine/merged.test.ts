// Merged decoders (decoder_model_merged*.onnx, made by tools/models/merged_fixtures.py from the zoo's
// llama export): each pass runs the branch the If on use_cache_branch would take, and every site of
// both branches matches the unmerged model's references (test/fixtures/reference/llama).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel } from "../../../src/engine";
import { MergedDecoder } from "../../../src/engine/model/merged";
import type { LoadedModel } from "../../../src/engine";
import { faithfulnessOf, formatFaithTable } from "../../../src/engine";
import { listVariants } from "../../../src/engine";
import { flattenBranch, mergedIf, USE_CACHE_BRANCH } from "../../../src/engine/onnx/merged";
import { scanModel } from "../../../src/engine/onnx/modelFile";
import { FileBytes } from "../../../src/engine/onnx/wire";
import { parseSafetensors, toFloat32 } from "../../../src/engine";
import { generate, modelDecoderFactory } from "../../../src/engine";
import type { HookName } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
const MERGED = path.join(ROOT, "test", "fixtures", "merged", "llama");
const ZOO = path.join(ROOT, "test", "fixtures", "zoo", "llama-torchscript");
const REF = path.join(ROOT, "test", "fixtures", "reference", "llama");
/** Folder variant -> the reference's name for the graph it was made from. */
const REF_VARIANT: Record<string, string> = { fp32: "fp32", fp16: "fp16", quantized: "int8", q4: "q4" };

interface Manifest {
  prompts: Array<{ ids: number[] }>;
  sites: string[];
  tolerance: { abs: number };
  variants: Record<string, { tolerance_own: number }>;
}
const manifest = JSON.parse(fs.readFileSync(path.join(REF, "manifest.json"), "utf8")) as Manifest;
const refs = parseSafetensors(new Uint8Array(fs.readFileSync(path.join(REF, "tensors.safetensors"))), "tensors.safetensors").tensors;

function maxRel(a: Float32Array, ref: Float32Array): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    e = Math.max(e, Math.abs(a[i] - ref[i]));
    m = Math.max(m, Math.abs(ref[i]));
  }
  return e / Math.max(1, m);
}

async function greedy(m: LoadedModel, prompt: number[], n: number, useKvCache: boolean, steer = new Map<HookName, Float32Array>()) {
  const ids: number[] = [];
  for await (const t of generate(modelDecoderFactory(m, { useKvCache }), prompt, { maxTokens: n, steer })) ids.push(t.id);
  return ids;
}

describe("merged decoders (If on use_cache_branch)", function () {
  this.timeout(300000);
  let cache: string;
  before(() => (cache = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-merged-"))));
  after(() => fs.rmSync(cache, { recursive: true, force: true }));

  it("the folder lists the four merged variants, and each branch flattens to a plain decoder", () => {
    assert.deepStrictEqual(
      listVariants(MERGED).map((v) => v.variant),
      ["fp32", "fp16", "q4", "quantized"],
    );
    const file = path.join(MERGED, "onnx", "decoder_model_merged.onnx");
    const src = new FileBytes(file);
    try {
      const m = scanModel(file, src, 0);
      const at = mergedIf(m);
      assert.ok(at !== undefined, "the If node was not found");
      const reads = (g: ReturnType<typeof flattenBranch>) =>
        g.nodes.filter((n) => n.input.some((x) => x.startsWith("past_key_values"))).length;
      const without = flattenBranch(m, src, at, "else_branch");
      const withPast = flattenBranch(m, src, at, "then_branch");
      for (const g of [without, withPast]) {
        assert.ok(!g.inputs.some((i) => i.name === USE_CACHE_BRANCH));
        assert.ok(!g.nodes.some((n) => n.opType === "If"));
        assert.ok(g.nodes.length > 800, `${g.nodes.length} nodes`);
      }
      assert.strictEqual(reads(without), 0, "the branch without past reads past_key_values");
      assert.strictEqual(reads(withPast), 6, "the branch with past does not read each past tensor");
    } finally {
      src.close();
    }
  });

  for (const variant of Object.keys(REF_VARIANT)) {
    it(`${variant}: every site, logits${variant === "fp32" ? ", steering and the patching grid" : ""} match the unmerged model's reference`, async () => {
      const m = await openModel(MERGED, { variant, cacheDir: cache });
      try {
        assert.ok(m instanceof MergedDecoder);
        const rows = await faithfulnessOf(
          {
            name: `merged:${variant}`,
            modelPath: MERGED,
            referenceDir: REF,
            variant,
            referenceVariant: REF_VARIANT[variant],
            referenceKind: variant === "fp32" ? "pytorch" : "own-graph",
          },
          m,
        );
        const compared = rows.filter((r) => !r.note);
        assert.ok(compared.filter((r) => r.site.startsWith("blocks.")).length >= 24, formatFaithTable(rows));
        if (variant === "fp32") assert.ok(["steer/logits", "patch/grid"].every((s) => compared.some((r) => r.site === s)));
        assert.deepStrictEqual(
          rows.filter((r) => !r.pass).map((r) => r.site),
          [],
          `\n${formatFaithTable(rows.filter((r) => !r.pass))}`,
        );
      } finally {
        await m.dispose();
      }
    });
  }

  it("a pass after a past runs the with-past branch, and its sites match the reference too", async () => {
    const m = (await openModel(MERGED, { cacheDir: cache })) as MergedDecoder;
    try {
      const sites = manifest.sites.filter((s) => s !== "logits" && !s.endsWith("hook_pattern")) as HookName[];
      for (let p = 0; p < manifest.prompts.length; p++) {
        const ids = manifest.prompts[p].ids;
        const k = Math.floor(ids.length / 2);
        const first = await m.decodeStep([ids.slice(0, k)]);
        const filesBefore = m.withPast.writtenFiles.length + fs.readdirSync(cache, { recursive: true }).length;
        const rest = await m.decodeStep([ids.slice(k)], first.cache, { capture: sites });
        if (p === 0) assert.ok(m.withPast.writtenFiles.length + fs.readdirSync(cache, { recursive: true }).length > filesBefore);
        for (const s of sites) {
          const ref = toFloat32(refs.get(`${p}/${s}`)!);
          const got = rest.captures.get(s)!;
          const row = got.data.length / (ids.length - k);
          const err = maxRel(got.data, ref.subarray(k * row));
          assert.ok(err <= manifest.tolerance.abs, `${s} after a past of ${k}: ${err}`);
        }
      }
    } finally {
      await m.dispose();
    }
  });

  // A dynamically quantised graph (DynamicQuantizeLinear: int8) picks its activation scale from all the
  // tokens of a pass, so one cached token and a full recompute round differently: there the merged
  // model must generate exactly what the unmerged export does, each way.
  const dynamic = (m: LoadedModel) => m.scanned.nodes.some((n) => n.opType === "DynamicQuantizeLinear");
  for (const variant of Object.keys(REF_VARIANT)) {
    it(`${variant}: greedy generation with and without the key/value cache equals the unmerged export's, and each other's where the graph quantises statically`, async () => {
      const m = await openModel(MERGED, { variant, cacheDir: cache });
      const plain = await openModel(ZOO, { variant: REF_VARIANT[variant], cacheDir: cache });
      try {
        const prompt = manifest.prompts[1].ids;
        const steer = new Map<HookName, Float32Array>([
          ["blocks.1.hook_resid_post", Float32Array.from({ length: 32 }, (_, i) => Math.cos(i))],
        ]);
        for (const s of [new Map<HookName, Float32Array>(), steer]) {
          const withKv = await greedy(m, prompt, 12, true, s);
          const without = await greedy(m, prompt, 12, false, s);
          assert.deepStrictEqual(withKv, await greedy(plain, prompt, 12, true, s), "with the cache");
          assert.deepStrictEqual(without, await greedy(plain, prompt, 12, false, s), "without the cache");
          if (!dynamic(m)) assert.deepStrictEqual(withKv, without);
        }
        assert.strictEqual(dynamic(m), variant === "quantized");
        assert.notDeepStrictEqual(await greedy(m, prompt, 12, true, steer), await greedy(m, prompt, 12, true), "steering changed nothing");
      } finally {
        await m.dispose();
        await plain.dispose();
      }
    });
  }

  it("an If that is not on use_cache_branch (onnxruntime-genai's long-context rotary caches) is an ordinary node", async () => {
    const m = await openModel(path.join(ROOT, "test", "fixtures", "genai", "llama-fp32-longctx"), { cacheDir: cache });
    try {
      assert.ok(!(m instanceof MergedDecoder));
      assert.ok(m.scanned.nodes.some((n) => n.opType === "If"));
      assert.ok(m.info.checks?.every((c) => c.verdict === "agree"));
    } finally {
      await m.dispose();
    }
  });

  it("the zoo's Transformers.js folder holds four variants, each generating the same with and without the cache (statically quantised)", async () => {
    const vs = listVariants(ZOO).map((v) => v.variant);
    assert.deepStrictEqual(vs, ["fp32", "fp16", "int8", "q4"]);
    for (const variant of vs) {
      const m = await openModel(ZOO, { variant, cacheDir: cache });
      try {
        const prompt = manifest.prompts[0].ids;
        if (!dynamic(m)) assert.deepStrictEqual(await greedy(m, prompt, 12, true), await greedy(m, prompt, 12, false), variant);
      } finally {
        await m.dispose();
      }
    }
  });
});

// Every committed .onnx (demo models and the architecture zoo) loads in onnxruntime-node and
// reproduces the PyTorch logits of prompt 0 from its reference manifest, within the
// manifest's tolerance. Regenerate the files with tools/models/run_all.sh.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { readSafetensors, toFloat32 } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");
const REF = path.join(ROOT, "test/fixtures/reference");

interface Manifest {
  model: string;
  prompts: { text: string; ids: number[] }[];
  tolerance: { abs: number; note: string };
}

function findOnnx(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findOnnx(p));
    // Edited graphs the engine caches beside a model (*.introspect-<hash>.onnx) are not ours.
    else if (e.name.endsWith(".onnx") && !e.name.includes(".introspect-")) out.push(p);
  }
  return out.sort();
}

/** Full-sequence feeds: ones for the mask, 0..n-1 positions, empty past tensors. */
function feeds(session: ort.InferenceSession, ids: number[]): Record<string, ort.Tensor> {
  const n = ids.length;
  const out: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    const name = meta.name;
    if (name === "input_ids") out[name] = new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, n]);
    else if (name === "attention_mask") out[name] = new ort.Tensor("int64", new BigInt64Array(n).fill(1n), [1, n]);
    else if (name === "position_ids")
      out[name] = new ort.Tensor("int64", BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, n]);
    else if (name.startsWith("past_key_values.")) {
      assert.ok(meta.isTensor, `${name} should be a tensor input`);
      // [batch, kv heads, past length, head dim]: batch 1, past length 0, the rest fixed.
      const dims = meta.shape.map((d, i) => (i === 0 ? 1 : typeof d === "number" ? d : 0));
      // Exports with float16 inputs and outputs (q4f16) take a float16 cache.
      const half = (meta as { type?: string }).type === "float16";
      out[name] = half ? new ort.Tensor("float16", new Uint16Array(0), dims) : new ort.Tensor("float32", new Float32Array(0), dims);
    } else assert.fail(`unexpected model input ${name}`);
  }
  return out;
}

/** IEEE 754 binary16 bits to numbers, written out here so the check does not lean on the engine's. */
function halfToFloat(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24;
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

interface ZooEntry {
  type: string;
  reference: string;
  variant: string;
}
interface ZooManifest extends Manifest {
  variants?: Record<string, { file?: string; tolerance_own?: number; tolerance?: number }>;
}

/** [name, .onnx file, reference dir, reference key of prompt 0's logits, tolerance]. */
type Case = [string, string, string, string, number | undefined];
// A demo folder's quantised variants (onnx/model_<v>.onnx) are checked against their own graph's
// logits in onnxruntime (Python), kept in reference/<name>-variants.
const demo: Case[] = findOnnx(path.join(ROOT, "models")).map((f) => {
  const name = path.basename(path.dirname(path.dirname(f)));
  const v = /^model_(\w+)\.onnx$/.exec(path.basename(f))?.[1];
  if (!v) return [name, f, path.join(REF, name), "0/logits", undefined];
  const dir = path.join(REF, `${name}-variants`);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")) as ZooManifest;
  return [`${name}:${v}`, f, dir, `variant/${v}/0/logits`, manifest.variants?.[v]?.tolerance_own];
});
const ZOO = path.join(ROOT, "test/fixtures/zoo");
const index = JSON.parse(fs.readFileSync(path.join(ZOO, "index.json"), "utf8")) as Record<string, ZooEntry>;
const zoo: Case[] = Object.entries(index).map(([key, e]) => {
  const folder = key.split(":")[0];
  const manifest = JSON.parse(fs.readFileSync(path.join(REF, e.reference, "manifest.json"), "utf8")) as ZooManifest;
  const v = manifest.variants?.[e.variant];
  const file = path.join(ZOO, folder, "onnx", e.variant === "fp32" || e.variant === "ortfused" ? "model.onnx" : v!.file!);
  const own = e.variant !== "fp32" && e.variant !== "ortfused";
  return [key, file, path.join(REF, e.reference), own ? `variant/${e.variant}/0/logits` : "0/logits", own ? v!.tolerance_own : v?.tolerance];
});
const models = [...demo, ...zoo];

describe("committed ONNX models match their PyTorch references", () => {
  it("finds the demo models and the zoo, with every .onnx file in the zoo listed in its index", () => {
    const names = models.map((m) => m[0]);
    for (const want of ["demo-llama", "demo-moe", "demo-gpt2", "llama-torchscript", "gpt2-dynamo", "opt-torchscript", "bloom-dynamo", "llama-torchscript:q4"])
      assert.ok(names.includes(want), `${want} is missing (found ${names.join(", ")})`);
    const listed = new Set(zoo.map((c) => c[1]));
    const unlisted = findOnnx(ZOO).filter((f) => !listed.has(f));
    assert.deepEqual(unlisted, [], "zoo files without an index entry (and so without a reference)");
  });

  for (const [name, file, refDir, key, tol] of models) {
    it(`${name}: prompt 0 logits within tolerance`, async () => {
      const manifest = JSON.parse(fs.readFileSync(path.join(refDir, "manifest.json"), "utf8")) as Manifest;
      const ref = readSafetensors(path.join(refDir, "tensors.safetensors")).tensors.get(key);
      assert.ok(ref, `${name}: reference has no ${key}`);
      const tolerance = tol ?? manifest.tolerance.abs;
      const session = await ort.InferenceSession.create(file);
      try {
        const ids = manifest.prompts[0].ids;
        const result = await session.run(feeds(session, ids));
        const logits = result.logits;
        // References may keep only the last rows of the logits.
        const [rows, vocab] = ref.shape;
        assert.deepEqual(Array.from(logits.dims), [1, ids.length, vocab]);
        const all = logits.type === "float16" ? halfToFloat(logits.data as Uint16Array) : (logits.data as Float32Array);
        const got = all.subarray((ids.length - rows) * vocab);
        const want = toFloat32(ref);
        let worst = 0;
        let scale = 1;
        for (let i = 0; i < want.length; i++) {
          worst = Math.max(worst, Math.abs(got[i] - want[i]));
          scale = Math.max(scale, Math.abs(want[i]));
        }
        assert.ok(worst <= tolerance * scale, `${name}: max |diff| ${worst} > ${tolerance} x ${scale}`);
        // The comparison must be able to fail: logits of a real model are not all equal.
        assert.ok(Math.max(...want) - Math.min(...want) > 10 * tolerance);
      } finally {
        await session.release();
      }
    });
  }
});

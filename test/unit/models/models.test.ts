// Every committed .onnx (demo models and the architecture zoo) loads in onnxruntime-node and
// reproduces the PyTorch logits of prompt 0 from its reference manifest, within the
// manifest's tolerance. Regenerate the files with tools/models/run_all.sh.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as ort from "onnxruntime-node";
import { readSafetensors, toFloat32 } from "../../../src/engine/safetensors";

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
      out[name] = new ort.Tensor("float32", new Float32Array(0), dims);
    } else assert.fail(`unexpected model input ${name}`);
  }
  return out;
}

const models = [...findOnnx(path.join(ROOT, "models")), ...findOnnx(path.join(ROOT, "test/fixtures/zoo"))];

describe("committed ONNX models match their PyTorch references", () => {
  it("finds the demo models and the zoo", () => {
    const names = models.map((m) => path.basename(path.dirname(path.dirname(m))));
    for (const want of ["demo-llama", "demo-moe", "demo-gpt2", "llama-torchscript", "gpt2-dynamo", "qwen2-external"])
      assert.ok(names.includes(want), `${want} is missing (found ${names.join(", ")})`);
  });

  for (const file of models) {
    const name = path.basename(path.dirname(path.dirname(file)));
    it(`${name}: prompt 0 logits within tolerance`, async () => {
      const manifest = JSON.parse(fs.readFileSync(path.join(REF, name, "manifest.json"), "utf8")) as Manifest;
      const ref = readSafetensors(path.join(REF, name, "tensors.safetensors")).tensors.get("0/logits");
      assert.ok(ref, `${name}: reference has no 0/logits`);
      const session = await ort.InferenceSession.create(file);
      try {
        const ids = manifest.prompts[0].ids;
        const result = await session.run(feeds(session, ids));
        const logits = result.logits;
        assert.deepEqual(Array.from(logits.dims), [1, ...ref.shape]);
        const got = logits.data as Float32Array;
        const want = toFloat32(ref);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        assert.ok(worst <= manifest.tolerance.abs, `${name}: max |diff| ${worst} > ${manifest.tolerance.abs}`);
        // The comparison must be able to fail: logits of a real model are not all equal.
        assert.ok(Math.max(...want) - Math.min(...want) > 10 * manifest.tolerance.abs || name.includes("int8"));
      } finally {
        await session.release();
      }
    });
  }
});

// Finds PyTorch reference cases (manifest.json + tensors.safetensors) and the model each belongs to.
// Two layouts: test/fixtures/reference/<model>/ (models from models/ or test/fixtures/zoo/), and
// test/fixtures/local/<model>/reference/ (small fixtures with the model beside them).

import * as fs from "fs";
import * as path from "path";
import { readSafetensors, toFloat32 } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");

export interface ReferenceCase {
  name: string;
  modelDir: string;
  manifest: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  tensors: Map<string, { dims: number[]; data: Float32Array }>;
}

function readTensors(file: string): Map<string, { dims: number[]; data: Float32Array }> {
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const [k, t] of readSafetensors(file).tensors) {
    if (t.dtype === "F32" || t.dtype === "F16" || t.dtype === "BF16" || t.dtype === "F64")
      out.set(k, { dims: [...t.shape], data: toFloat32(t) });
  }
  return out;
}

export function findReferenceCases(): ReferenceCase[] {
  const cases: ReferenceCase[] = [];
  const add = (name: string, refDir: string, modelDir: string | undefined) => {
    const mf = path.join(refDir, "manifest.json");
    const tf = path.join(refDir, "tensors.safetensors");
    if (!modelDir || !fs.existsSync(mf) || !fs.existsSync(tf)) return;
    cases.push({ name, modelDir, manifest: JSON.parse(fs.readFileSync(mf, "utf8")), tensors: readTensors(tf) });
  };
  const refRoot = path.join(ROOT, "test/fixtures/reference");
  if (fs.existsSync(refRoot)) {
    for (const m of fs.readdirSync(refRoot)) {
      const candidates = [path.join(ROOT, "models", m), path.join(ROOT, "test/fixtures/zoo", m)];
      add(
        m,
        path.join(refRoot, m),
        candidates.find((c) => fs.existsSync(path.join(c, "onnx"))),
      );
    }
  }
  const local = path.join(ROOT, "test/fixtures/local");
  if (fs.existsSync(local)) {
    for (const m of fs.readdirSync(local)) add(`local/${m}`, path.join(local, m, "reference"), path.join(local, m));
  }
  return cases;
}

/** The steering case in either manifest spelling. */
export function steeringCase(c: ReferenceCase) {
  const s = c.manifest.steering ?? c.manifest.steer;
  if (!s || !c.tensors.has("steer/vector") || !c.tensors.has("steer/logits")) return undefined;
  const prompts = c.manifest.prompts as { ids: number[] }[] | undefined;
  const ids: number[] | undefined = s.ids ?? s.prompt_ids ?? (typeof s.prompt === "number" ? prompts?.[s.prompt]?.ids : undefined);
  if (!ids) return undefined;
  return {
    site: s.site as string,
    alpha: Number(s.alpha),
    ids,
    vector: c.tensors.get("steer/vector")!.data,
    logits: c.tensors.get("steer/logits")!,
    greedyIds: (s.greedy_ids ?? c.manifest.greedy_ids) as number[] | undefined,
  };
}

export function patchingCase(c: ReferenceCase) {
  const p = c.manifest.patching ?? c.manifest.patch;
  if (!p || !c.tensors.has("patch/logits")) return undefined;
  return {
    cleanIds: p.clean_ids as number[],
    corruptIds: p.corrupt_ids as number[],
    site: p.site as string,
    position: Number(p.position),
    logits: c.tensors.get("patch/logits")!,
  };
}

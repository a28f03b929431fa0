// Faithfulness: compares the engine's captures, logits, steering and patching against PyTorch
// reference tensors (tools/models writes them; format in tools/models/README.md).
//
// Tolerance (pass when max |ours - ref| <= tol * max(1, max |ref|) for that site):
// - float32 graphs: the manifest's abs tolerance (1e-4). Scaled by the reference's magnitude because
//   float32 rounding error grows with the values (logits of 30 carry ~4e-6 per op).
// - ort-fused float32 (fused norms, attention): 1e-3; fused kernels sum in another order and use
//   other epsilon placement, which moves results by ~1e-5 relative per layer.
// - float16 weights/activations: 2e-2; fp16 keeps ~3 significant digits and errors accumulate
//   over layers, while the references are float32.
// - quantised weights (int8 / int4): 1e-1 against float32 references; each quantised MatMul alone is
//   off by ~1% and this compounds over layers. These rows check the map and the wiring, not precision.
import * as fs from "fs";
import * as path from "path";
import type { HookName } from "../types";
import { IntrospectError } from "../types";
import { parseSafetensors, toFloat32, type SafeTensor } from "../safetensors";
import { openModel } from "./open";
import type { LoadedModel } from "./loaded";
import { VARIANTS } from "./resolve";

export interface FaithRow {
  model: string;
  /** A site name, `logits`, `steer/logits` or `patch/logits`. */
  site: string;
  maxAbsError: number;
  /** Largest |reference| value of that site, for scale. */
  refMax: number;
  tolerance: number;
  pass: boolean;
  note?: string;
}

interface Manifest {
  model?: string;
  prompts: Array<{ ids: number[]; text?: string }>;
  sites: string[];
  tolerance?: { abs?: number };
  steering?: { prompt_ids: number[]; site: string; alpha: number; vector: string; logits: string };
  patching?: { clean_ids: number[]; corrupt_ids: number[]; site: string; position: number; logits: string };
}

export interface FaithCase {
  name: string;
  modelPath: string;
  referenceDir: string;
  /** Transformers.js variant (fp32, fp16, quantized, q4 ...); every variant in a folder is a case. */
  variant?: string;
}

/** Variants present in a model folder (model.onnx -> fp32, model_fp16.onnx -> fp16 ...). */
function variantsIn(folder: string): string[] {
  const dir = fs.existsSync(path.join(folder, "onnx")) ? path.join(folder, "onnx") : folder;
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    const m = /^(?:decoder_)?model(_\w+)?\.onnx$/.exec(f);
    if (!m) continue;
    const suffix = m[1] ?? "";
    const v = Object.keys(VARIANTS).find((k) => VARIANTS[k] === suffix) ?? suffix.slice(1);
    if (!out.includes(v)) out.push(v);
  }
  return out.length ? out : ["fp32"];
}

function withVariants(name: string, modelPath: string, referenceDir: string): FaithCase[] {
  const vs = variantsIn(modelPath);
  return vs.map((v) => ({ name: vs.length > 1 || v !== "fp32" ? `${name}:${v}` : name, modelPath, referenceDir, variant: v }));
}

/** Every model under root with a reference: models/*, test/fixtures/zoo/*, test/fixtures/local/*. */
export function findFaithCases(root: string): FaithCase[] {
  const out: FaithCase[] = [];
  const refRoot = path.join(root, "test", "fixtures", "reference");
  const dirs = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => fs.statSync(path.join(d, f)).isDirectory()) : []);
  for (const base of [path.join(root, "models"), path.join(root, "test", "fixtures", "zoo")]) {
    for (const name of dirs(base)) {
      const ref = path.join(refRoot, name);
      if (fs.existsSync(path.join(ref, "manifest.json"))) out.push(...withVariants(name, path.join(base, name), ref));
    }
  }
  const local = path.join(root, "test", "fixtures", "local");
  for (const name of dirs(local)) {
    const ref = path.join(local, name, "reference");
    if (fs.existsSync(path.join(ref, "manifest.json"))) out.push(...withVariants(`local/${name}`, path.join(local, name), ref));
  }
  return out;
}

export function toleranceFor(exportStyle: string, manifestAbs = 1e-4): number {
  if (exportStyle.includes("quantized")) return 1e-1;
  if (exportStyle.includes("fp16")) return 2e-2;
  if (exportStyle.startsWith("ort-fused")) return 1e-3;
  return manifestAbs;
}

function compare(a: Float32Array, ref: SafeTensor): { maxAbsError: number; refMax: number } {
  const r = toFloat32(ref);
  if (a.length !== r.length) return { maxAbsError: Infinity, refMax: 0 };
  let e = 0;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    const d = Math.abs(a[i] - r[i]);
    if (d > e || Number.isNaN(d)) e = Number.isNaN(d) ? Infinity : d;
    m = Math.max(m, Math.abs(r[i]));
  }
  return { maxAbsError: e, refMax: m };
}

/** Compares one model with its reference; rows per (site, worst prompt). */
export async function faithfulnessOf(c: FaithCase, model?: LoadedModel): Promise<FaithRow[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(c.referenceDir, "manifest.json"), "utf8")) as Manifest;
  // A plain Uint8Array copy: parseSafetensors' per-tensor slice() must copy (Buffer.slice would not).
  const refFile = path.join(c.referenceDir, "tensors.safetensors");
  const ref = parseSafetensors(new Uint8Array(fs.readFileSync(refFile)), refFile).tensors;
  const m = model ?? (await openModel(c.modelPath, { variant: c.variant }));
  const rows: FaithRow[] = [];
  try {
    const tol = toleranceFor(m.info.exportStyle, manifest.tolerance?.abs);
    const worst = new Map<string, { maxAbsError: number; refMax: number }>();
    const note = new Map<string, string>();
    const wanted = manifest.sites.filter((s) => s !== "logits");
    const available = wanted.filter((s) => m.map.sites.has(s));
    for (const s of wanted) if (!m.map.sites.has(s)) note.set(s, "not in this graph");
    for (let p = 0; p < manifest.prompts.length; p++) {
      const r = await m.run({ ids: manifest.prompts[p].ids, capture: available });
      const pairs: Array<[string, Float32Array]> = [
        ["logits", r.logits.data],
        ...available.map((s) => [s, r.captures.get(s)!.data] as [string, Float32Array]),
      ];
      for (const [site, data] of pairs) {
        const t = ref.get(`${p}/${site}`);
        if (!t) continue;
        const cmp = compare(data, t);
        const w = worst.get(site);
        if (!w || cmp.maxAbsError > w.maxAbsError)
          worst.set(site, { maxAbsError: cmp.maxAbsError, refMax: Math.max(cmp.refMax, w?.refMax ?? 0) });
      }
    }
    const st = manifest.steering;
    if (st && m.map.sites.has(st.site) && ref.has(st.vector) && ref.has(st.logits)) {
      const vec = toFloat32(ref.get(st.vector)!);
      const r = await m.run({ ids: st.prompt_ids, steer: [{ site: st.site, vector: vec, scale: st.alpha }] });
      worst.set("steer/logits", compare(r.logits.data, ref.get(st.logits)!));
    }
    const pa = manifest.patching;
    if (pa && m.map.sites.has(pa.site) && ref.has(pa.logits)) {
      const clean = await m.run({ ids: pa.clean_ids, capture: [pa.site] });
      const values = clean.captures.get(pa.site)!;
      if (pa.clean_ids.length !== pa.corrupt_ids.length)
        throw new IntrospectError("bad-input", "Patching reference prompts differ in length.");
      const r = await m.run({ ids: pa.corrupt_ids, patch: [{ site: pa.site, positions: [pa.position], values }] });
      worst.set("patch/logits", compare(r.logits.data, ref.get(pa.logits)!));
    }
    for (const [site, w] of worst) {
      rows.push({ model: c.name, site, ...w, tolerance: tol, pass: w.maxAbsError <= tol * Math.max(1, w.refMax) });
    }
    for (const [site, n] of note) rows.push({ model: c.name, site, maxAbsError: NaN, refMax: NaN, tolerance: tol, pass: true, note: n });
  } finally {
    if (!model) await m.dispose();
  }
  return rows;
}

/** The table for `introspect faithfulness`: every model under `root` that has a reference. */
export async function faithfulnessTable(root: string, onRow?: (r: FaithRow) => void): Promise<FaithRow[]> {
  const all: FaithRow[] = [];
  for (const c of findFaithCases(root)) {
    let rows: FaithRow[];
    try {
      rows = await faithfulnessOf(c);
    } catch (e) {
      rows = [{ model: c.name, site: "(open)", maxAbsError: Infinity, refMax: 0, tolerance: 0, pass: false, note: (e as Error).message }];
    }
    for (const r of rows) onRow?.(r);
    all.push(...rows);
  }
  return all;
}

/** Plain-text rendering: model, site, max error, tolerance, verdict. */
export function formatFaithTable(rows: FaithRow[]): string {
  const lines = [["model", "site", "max abs error", "ref max", "tolerance", "result"]];
  for (const r of rows) {
    lines.push([
      r.model,
      r.site,
      Number.isFinite(r.maxAbsError) ? r.maxAbsError.toExponential(2) : String(r.maxAbsError),
      Number.isFinite(r.refMax) ? r.refMax.toFixed(2) : "-",
      r.tolerance.toExponential(0),
      !r.pass ? `FAIL${r.note ? ` (${r.note})` : ""}` : r.note ? `skip (${r.note})` : "ok",
    ]);
  }
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines
    .map((l) =>
      l
        .map((x, i) => x.padEnd(w[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export type { HookName };

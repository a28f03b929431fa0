// Faithfulness: compares the engine's map, captures, logits, steering and patching against
// reference tensors (tools/models writes them; format in tools/models/README.md).
//
// A row passes when max |ours - ref| <= tol * max(1, max |ref|) for that site. Every check counts:
// a site the reference has and the map does not find, a reference tensor that is missing, a layer
// count that differs from the reference model's, a steering or patching site the map lacks: each is
// a failing row, never a skip.
//
// Tolerances:
// - float32 graphs vs float32 PyTorch: the manifest's abs tolerance (1e-4). Scaled by the reference's
//   magnitude because float32 rounding error grows with the values.
// - ort-fused float32 (fused norms, attention): 1e-3 (the manifest's variants.ortfused.tolerance).
// - quantised / fp16 variants: their sites are checked against that variant graph's own tensors
//   (manifest variants.<v>.tolerance_own: 1e-4, fp16 2e-2), and their logits against float32 PyTorch
//   within the bound the manifest states (twice the difference measured at export).
// - older references without these fields: int8/int4 1e-1, fp16 2e-2, fused 1e-3.
// - references made for the graph itself (`tolerance.graph_specific`, onnxruntime-genai fixtures: float32
//   PyTorch on the same, for 4-bit graphs dequantised, weights): the manifest's abs tolerance as stated.
import * as fs from "fs";
import * as path from "path";
import type { HookName } from "../types";
import { IntrospectError } from "../types";
import { parseSafetensors, toFloat32, type SafeTensor } from "../safetensors";
import { openModel } from "./open";
import type { LoadedModel } from "./loaded";
import { listVariants } from "./resolve";
import { modelPatchRunner } from "../patch/model-runner";
import { patchingSweep } from "../patch/sweep";

export interface FaithRow {
  model: string;
  /** A site name, `logits`, `map/layers`, `steer/logits`, `patch/logits` or `patch/grid`. */
  site: string;
  maxAbsError: number;
  /** Largest |reference| value of that site, for scale. */
  refMax: number;
  tolerance: number;
  pass: boolean;
  note?: string;
}

interface VariantRef {
  sites?: string[];
  tolerance_own?: number;
  tolerance_vs_torch?: number;
  tolerance?: number;
}

interface Manifest {
  model?: string;
  prompts: Array<{ ids: number[]; text?: string }>;
  sites: string[];
  config?: { layers?: number; d_model?: number; experts?: number | null };
  /** `graph_specific`: the reference was computed for this very graph (a 4-bit graph's reference uses its
   * dequantised weights), so `abs` applies as stated instead of the export style's default. */
  tolerance?: { abs?: number; graph_specific?: boolean };
  steering?: { prompt_ids: number[]; site: string; alpha: number; vector: string; logits: string };
  patching?: { clean_ids: number[]; corrupt_ids: number[]; site: string; position: number; logits: string };
  patching_grid?: { clean_ids: number[]; corrupt_ids: number[]; site: string; answer_id: number; wrong_id: number; grid: string };
  variants?: Record<string, VariantRef>;
}

export interface FaithCase {
  name: string;
  modelPath: string;
  referenceDir: string;
  /** Transformers.js variant (fp32, fp16, q4, int8 ...); every variant in a folder is a case. */
  variant?: string;
  /** The reference's name for the variant when the folder's differs (a merged `quantized` graph made from `int8`). */
  referenceVariant?: string;
  /** How the reference was made for this case: PyTorch, or the variant graph's own tensors. */
  referenceKind?: "pytorch" | "own-graph" | "fused";
}

/**
 * The cases of a folder with one reference: its float32 and float16 graphs, and each quantised variant
 * the reference's manifest has a bound or own-graph tensors for (`variants.<v>`). One without (demo-llama's
 * q4 and int8, checked against their own graphs in test/unit/models) is not compared with float32 PyTorch
 * at float32's tolerance.
 */
function withVariants(name: string, modelPath: string, referenceDir: string): FaithCase[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(referenceDir, "manifest.json"), "utf8")) as { variants?: Record<string, unknown> };
  const found = listVariants(modelPath)
    .map((v) => v.variant)
    .filter((v) => v === "fp32" || v === "fp16" || (manifest.variants !== undefined && v in manifest.variants));
  const vs = found.length ? found : ["fp32"];
  return vs.map((v) => ({ name: vs.length > 1 || v !== "fp32" ? `${name}:${v}` : name, modelPath, referenceDir, variant: v }));
}

interface ZooEntry {
  type: string;
  reference: string;
  variant: string;
}

/** The cases of a zoo folder: `index.json` names each folder (and folder:variant) and its reference. */
export function zooCases(zooDir: string, referenceRoot: string): FaithCase[] {
  const indexFile = path.join(zooDir, "index.json");
  if (!fs.existsSync(indexFile))
    throw new IntrospectError("bad-input", `${zooDir} holds no index.json, so it is not a zoo made by tools/models/zoo.py.`);
  let index: Record<string, ZooEntry>;
  try {
    index = JSON.parse(fs.readFileSync(indexFile, "utf8")) as Record<string, ZooEntry>;
  } catch (e) {
    throw new IntrospectError("bad-input", `${indexFile} could not be read as JSON (${(e as Error).message}).`);
  }
  if (index === null || typeof index !== "object" || Array.isArray(index)) {
    throw new IntrospectError("bad-input", `${indexFile} does not hold a JSON object of models.`);
  }
  for (const [key, e] of Object.entries(index)) {
    if (!e || typeof e !== "object" || typeof e.reference !== "string" || typeof e.variant !== "string") {
      throw new IntrospectError("bad-input", `${indexFile}: entry ${JSON.stringify(key)} has no "variant" and "reference" strings.`);
    }
  }
  return Object.entries(index).map(([key, e]) => {
    const folder = key.split(":")[0];
    const kind = e.variant === "fp32" ? "pytorch" : e.variant === "ortfused" ? "fused" : "own-graph";
    return {
      name: key,
      modelPath: path.join(zooDir, folder),
      referenceDir: path.join(referenceRoot, e.reference),
      variant: kind === "own-graph" ? e.variant : undefined,
      referenceKind: kind,
    };
  });
}

/** Every model under root with a reference: models/*, test/fixtures/zoo (index.json), test/fixtures/local/*
 * and test/fixtures/genai/* (onnxruntime-genai builder layouts, each with its own reference/). */
export function findFaithCases(root: string): FaithCase[] {
  const out: FaithCase[] = [];
  const refRoot = path.join(root, "test", "fixtures", "reference");
  const dirs = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((f) => fs.statSync(path.join(d, f)).isDirectory()) : []);
  const models = path.join(root, "models");
  for (const name of dirs(models)) {
    const ref = path.join(refRoot, name);
    if (fs.existsSync(path.join(ref, "manifest.json"))) out.push(...withVariants(name, path.join(models, name), ref));
  }
  const zoo = path.join(root, "test", "fixtures", "zoo");
  if (fs.existsSync(path.join(zoo, "index.json"))) out.push(...zooCases(zoo, refRoot));
  for (const group of ["local", "genai"]) {
    const dir = path.join(root, "test", "fixtures", group);
    for (const name of dirs(dir)) {
      const ref = path.join(dir, name, "reference");
      if (fs.existsSync(path.join(ref, "manifest.json"))) out.push(...withVariants(`${group}/${name}`, path.join(dir, name), ref));
    }
  }
  return out;
}

/** Tolerance for references without per-variant bounds (the demo models and local fixtures). */
export function toleranceFor(exportStyle: string, manifestAbs = 1e-4): number {
  if (exportStyle.includes("quantized")) return 1e-1;
  if (exportStyle.includes("fp16")) return 2e-2;
  if (exportStyle.startsWith("ort-fused")) return 1e-3;
  return manifestAbs;
}

/** Compares `a` with `ref`; when the reference keeps only the last rows (logits), the last rows of `a`. */
function compare(a: Float32Array, ref: SafeTensor, rows = false): { maxAbsError: number; refMax: number } {
  const r = toFloat32(ref);
  const row = ref.shape.length > 1 ? ref.shape[ref.shape.length - 1] : r.length;
  const lastRows = rows && a.length > r.length && row > 0 && a.length % row === 0 && r.length % row === 0;
  if (a.length !== r.length && !lastRows) return { maxAbsError: Infinity, refMax: 0 };
  const off = a.length - r.length;
  let e = 0;
  let m = 0;
  for (let i = 0; i < r.length; i++) {
    const d = Math.abs(a[off + i] - r[i]);
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
  const fail = (site: string, note: string, tolerance = 0) =>
    rows.push({ model: c.name, site, maxAbsError: Infinity, refMax: NaN, tolerance, pass: false, note });
  try {
    const kind = c.referenceKind ?? "pytorch";
    const refVariant = c.referenceVariant ?? c.variant;
    const vref = refVariant ? manifest.variants?.[refVariant] : kind === "fused" ? manifest.variants?.ortfused : undefined;
    const tol =
      kind === "own-graph" && vref?.tolerance_own !== undefined
        ? vref.tolerance_own
        : kind === "fused" && vref?.tolerance !== undefined
          ? vref.tolerance
          : manifest.tolerance?.graph_specific && manifest.tolerance.abs !== undefined
            ? manifest.tolerance.abs
            : toleranceFor(m.info.exportStyle, manifest.tolerance?.abs);
    const keyOf = (p: number, site: string) => (kind === "own-graph" ? `variant/${refVariant}/${p}/${site}` : `${p}/${site}`);

    // The map's counts against the reference model's.
    const expLayers = manifest.config?.layers;
    if (expLayers !== undefined) {
      const ok = m.map.numLayers === expLayers;
      rows.push({
        model: c.name,
        site: "map/layers",
        maxAbsError: Math.abs(m.map.numLayers - expLayers),
        refMax: expLayers,
        tolerance: 0,
        pass: ok,
        note: ok ? undefined : `map found ${m.map.numLayers} layers, the reference model has ${expLayers}`,
      });
    }

    const wanted = (kind === "own-graph" && vref?.sites ? vref.sites : manifest.sites).filter((s) => s !== "logits");
    const available = wanted.filter((s) => m.map.sites.has(s));
    for (const s of wanted) if (!m.map.sites.has(s)) fail(s, "the reference has this site and the map did not find it", tol);
    const worst = new Map<string, { maxAbsError: number; refMax: number }>();
    const missingRef = new Set<string>();
    for (let p = 0; p < manifest.prompts.length; p++) {
      const r = await m.run({ ids: manifest.prompts[p].ids, capture: available });
      const pairs: Array<[string, Float32Array]> = [
        ["logits", r.logits.data],
        ...available.map((s) => [s, r.captures.get(s)!.data] as [string, Float32Array]),
      ];
      for (const [site, data] of pairs) {
        const t = ref.get(keyOf(p, site));
        if (!t) {
          // Patterns (and a variant's own-graph sites) are kept for prompt 0 only; any other site must be
          // there for every prompt.
          if (p === 0 || (!site.endsWith("attn.hook_pattern") && kind !== "own-graph")) missingRef.add(site);
          continue;
        }
        const cmp = compare(data, t, site === "logits");
        const w = worst.get(site);
        if (!w || cmp.maxAbsError > w.maxAbsError)
          worst.set(site, { maxAbsError: cmp.maxAbsError, refMax: Math.max(cmp.refMax, w?.refMax ?? 0) });
      }
      if (kind === "own-graph" && vref?.tolerance_vs_torch !== undefined) {
        const t = ref.get(`${p}/logits`);
        if (t) {
          const cmp = compare(r.logits.data, t, true);
          const w = worst.get("logits/vs-pytorch");
          if (!w || cmp.maxAbsError > w.maxAbsError) worst.set("logits/vs-pytorch", cmp);
        }
      }
    }
    for (const s of missingRef) fail(s, `reference tensor ${keyOf(0, s)} is missing`, tol);
    for (const [site, w] of worst) {
      const t = site === "logits/vs-pytorch" ? vref!.tolerance_vs_torch! : tol;
      rows.push({ model: c.name, site, ...w, tolerance: t, pass: w.maxAbsError <= t * Math.max(1, w.refMax) });
    }
    // Steering and patching are PyTorch references: float32 exports and fused variants.
    if (kind !== "own-graph") await steeringAndPatching(c, m, manifest, ref, tol, rows, fail);
  } finally {
    if (!model) await m.dispose();
  }
  return rows;
}

async function steeringAndPatching(
  c: FaithCase,
  m: LoadedModel,
  manifest: Manifest,
  ref: Map<string, SafeTensor>,
  tol: number,
  rows: FaithRow[],
  fail: (site: string, note: string, tolerance?: number) => void,
): Promise<void> {
  const push = (site: string, cmp: { maxAbsError: number; refMax: number }) =>
    rows.push({ model: c.name, site, ...cmp, tolerance: tol, pass: cmp.maxAbsError <= tol * Math.max(1, cmp.refMax) });
  const st = manifest.steering;
  if (st) {
    if (!m.map.sites.has(st.site)) fail("steer/logits", `the steering site ${st.site} is not in the map`, tol);
    else if (!ref.has(st.vector) || !ref.has(st.logits)) fail("steer/logits", "the steering reference tensors are missing", tol);
    else {
      const vec = toFloat32(ref.get(st.vector)!);
      const r = await m.run({ ids: st.prompt_ids, steer: [{ site: st.site, vector: vec, scale: st.alpha }] });
      push("steer/logits", compare(r.logits.data, ref.get(st.logits)!, true));
    }
  }
  const pa = manifest.patching;
  if (pa) {
    if (!m.map.sites.has(pa.site)) fail("patch/logits", `the patching site ${pa.site} is not in the map`, tol);
    else if (!ref.has(pa.logits)) fail("patch/logits", "the patching reference tensor is missing", tol);
    else {
      const clean = await m.run({ ids: pa.clean_ids, capture: [pa.site] });
      const values = clean.captures.get(pa.site)!;
      if (pa.clean_ids.length !== pa.corrupt_ids.length)
        throw new IntrospectError("bad-input", "Patching reference prompts differ in length.");
      const r = await m.run({ ids: pa.corrupt_ids, patch: [{ site: pa.site, positions: [pa.position], values }] });
      push("patch/logits", compare(r.logits.data, ref.get(pa.logits)!, true));
    }
  }
  const pg = manifest.patching_grid;
  if (pg) {
    const sites = Array.from({ length: m.map.numLayers }, (_, l) => `blocks.${l}.${pg.site}` as HookName);
    const missing = sites.filter((s) => !m.map.sites.has(s));
    const refGrid = ref.get(pg.grid);
    if (missing.length) fail("patch/grid", `patching sites missing from the map: ${missing.join(", ")}`, tol);
    else if (!refGrid) fail("patch/grid", "the patching grid reference is missing", tol);
    else {
      const runner = modelPatchRunner(m, sites);
      const r = await patchingSweep(
        runner,
        {
          cleanIds: pg.clean_ids,
          corruptIds: pg.corrupt_ids,
          correct: pg.answer_id,
          wrong: pg.wrong_id,
          sites: [pg.site as "hook_resid_pre"],
        },
        { extra: ["logit-diff"] },
      );
      const grid = r.grids[pg.site as "hook_resid_pre"]?.logitDiff;
      const want = toFloat32(refGrid);
      if (!grid || grid.length !== want.length)
        fail("patch/grid", `grid shape differs (${grid?.length ?? 0} vs ${want.length} cells)`, tol);
      else {
        // Skipped cells (clean = corrupted activation) are the corrupted baseline: exactly what the reference computed.
        const filled = Float32Array.from(grid, (v) => (Number.isNaN(v) ? r.baselines.corrupt.logitDiff : v));
        push("patch/grid", compare(filled, refGrid));
      }
    }
  }
}

/** The table for `introspect faithfulness`: every model under `root` that has a reference. */
export async function faithfulnessTable(root: string, onRow?: (r: FaithRow) => void, cases = findFaithCases(root)): Promise<FaithRow[]> {
  const all: FaithRow[] = [];
  for (const c of cases) {
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
      !r.pass ? `FAIL${r.note ? ` (${r.note})` : ""}` : "ok",
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

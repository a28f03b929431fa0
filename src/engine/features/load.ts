// Reading dictionaries in the layouts the field publishes:
//   SAELens folder: cfg.json + sae_weights.safetensors (W_enc, W_dec, b_enc, b_dec, threshold |
//     b_gate, b_mag, r_mag | W_skip), optional sparsity.safetensors (log10 feature density);
//   Gemma Scope 2: params.safetensors with lowercase w_enc, w_dec, b_enc, b_dec, threshold (JumpReLU),
//     optional config.json beside it, the site otherwise read from its path
//     (`resid_post/layer_7_width_16k_l0_small/params.safetensors`);
//   transcoders in either: an input hook, an output hook (`hook_name_out`, `d_out`) and W_skip.
// Every file is a regular file inside the chosen folder, read with a size bound.

import * as fs from "node:fs";
import * as path from "node:path";
import { MAX_JSON_BYTES, readModelFile, readModelText } from "../model/modelFiles";
import { parseSafetensors, toFloat32, type SafeTensor } from "../safetensors";
import { IntrospectError } from "../types";
import type { Architecture, Dictionary, Normalization } from "./dictionary";

const MAX_WEIGHTS = 2 ** 31;

type Json = Record<string, unknown>;

function readJson(file: string, what: string): Json {
  const text = readModelText(file, what, MAX_JSON_BYTES);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new IntrospectError("bad-input", `${file} is not JSON (${(e as Error).message}).`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new IntrospectError("bad-input", `${file} does not hold a JSON object.`);
  return v as Json;
}

function readTensors(file: string): Map<string, SafeTensor> {
  return parseSafetensors(readModelFile(file, "dictionary weights", MAX_WEIGHTS), file).tensors;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** A matrix stored [rows, cols] or transposed; returned [rows, cols] row-major. */
function matrix(t: SafeTensor | undefined, rows: number, cols: number, name: string, where: string): Float32Array {
  if (!t) throw new IntrospectError("bad-input", `${where} has no tensor ${name}.`);
  const data = toFloat32(t);
  const [a, b] = t.shape;
  if (t.shape.length === 2 && a === rows && b === cols) return data;
  if (t.shape.length === 2 && a === cols && b === rows) {
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < cols; i++) for (let j = 0; j < rows; j++) out[j * cols + i] = data[i * rows + j];
    return out;
  }
  throw new IntrospectError("bad-input", `${where}: ${name} is ${JSON.stringify(t.shape)}, not [${rows}, ${cols}].`);
}

function vector(t: SafeTensor | undefined, n: number, name: string, where: string, fill?: number): Float32Array {
  if (!t) {
    if (fill !== undefined) return new Float32Array(n).fill(fill);
    throw new IntrospectError("bad-input", `${where} has no tensor ${name}.`);
  }
  const data = toFloat32(t);
  if (data.length !== n) throw new IntrospectError("bad-input", `${where}: ${name} has ${data.length} values, not ${n}.`);
  return data;
}

function architectureOf(v: unknown, where: string): Architecture {
  const a = (str(v) ?? "standard").toLowerCase().replace(/[-_ ]/g, "");
  if (a === "standard" || a === "relu" || a === "transcoder" || a === "skiptranscoder") return "standard";
  if (a === "gated") return "gated";
  if (a.startsWith("jumprelu")) return "jumprelu";
  if (a === "topk" || a === "batchtopk") return "topk";
  throw new IntrospectError(
    "bad-input",
    `${where}: architecture "${String(v)}" is not one Introspect reads (standard, gated, jumprelu, topk).`,
  );
}

function normalizationOf(v: unknown, where: string, notes: string[]): Normalization {
  const s = str(v) ?? "none";
  if (s === "none" || s === "constant_norm_rescale" || s === "layer_norm") return s;
  if (s === "expected_average_only_in") {
    notes.push("normalize_activations expected_average_only_in: read as folded into the weights, as SAELens saves it.");
    return "none";
  }
  throw new IntrospectError(
    "bad-input",
    `${where}: normalize_activations "${s}" is not one Introspect reads (none, constant_norm_rescale, layer_norm).`,
  );
}

/** Loads a dictionary from a SAELens folder, a Gemma Scope params.safetensors, or a folder holding one. */
export function loadDictionary(target: string): Dictionary {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    throw new IntrospectError("bad-input", `${target} does not exist.`);
  }
  if (st.isDirectory()) {
    if (fs.existsSync(path.join(target, "cfg.json"))) return loadSaeLens(target);
    if (fs.existsSync(path.join(target, "params.safetensors"))) return loadGemmaScope(path.join(target, "params.safetensors"));
    throw new IntrospectError("bad-input", `${target} holds neither cfg.json (a SAELens folder) nor params.safetensors (Gemma Scope).`);
  }
  const base = path.basename(target);
  if (base === "cfg.json" || base === "sae_weights.safetensors") return loadSaeLens(path.dirname(target));
  if (base.endsWith(".safetensors")) return loadGemmaScope(target);
  throw new IntrospectError("bad-input", `${target} is not a dictionary: choose a SAELens folder (cfg.json) or a params.safetensors file.`);
}

export function loadSaeLens(folder: string): Dictionary {
  const cfgFile = path.join(folder, "cfg.json");
  const cfg = readJson(cfgFile, "SAELens config");
  const meta = (cfg.metadata && typeof cfg.metadata === "object" ? cfg.metadata : {}) as Json;
  const where = path.basename(folder);
  const dIn = num(cfg.d_in);
  const dSae = num(cfg.d_sae);
  if (!dIn || !dSae) throw new IntrospectError("bad-input", `${cfgFile} needs d_in and d_sae (positive numbers).`);
  const dOut = num(cfg.d_out) ?? dIn;
  const notes: string[] = [];
  const architecture = architectureOf(cfg.architecture, where);
  const weightsFile = path.join(folder, "sae_weights.safetensors");
  if (!fs.existsSync(weightsFile)) throw new IntrospectError("bad-input", `${folder} has cfg.json but no sae_weights.safetensors.`);
  const t = readTensors(weightsFile);
  const hookIn = str(meta.hook_name) ?? str(cfg.hook_name) ?? str(cfg.hook_point) ?? str(cfg.feature_input_hook);
  if (!hookIn) throw new IntrospectError("bad-input", `${cfgFile} names no site: it needs metadata.hook_name (or hook_point).`);
  const hookOut = str(meta.hook_name_out) ?? str(cfg.hook_name_out) ?? str(cfg.hook_point_out) ?? str(cfg.feature_output_hook);
  const kRaw = cfg.k ?? (cfg.activation_fn_kwargs as Json | undefined)?.k;
  const d: Dictionary = {
    name: where,
    source: folder,
    format: "saelens",
    architecture,
    dIn,
    dSae,
    dOut,
    wEnc: matrix(t.get("W_enc"), dIn, dSae, "W_enc", where),
    bEnc: vector(t.get("b_enc") ?? t.get("b_gate"), dSae, architecture === "gated" ? "b_gate" : "b_enc", where),
    wDec: matrix(t.get("W_dec"), dSae, dOut, "W_dec", where),
    bDec: vector(t.get("b_dec"), dOut, "b_dec", where, 0),
    applyBDecToInput: cfg.apply_b_dec_to_input === true,
    normalization: normalizationOf(cfg.normalize_activations, where, notes),
    hookIn,
    hookOut: hookOut && hookOut !== hookIn ? hookOut : undefined,
    site: hookIn,
    modelName: str(meta.model_name) ?? str(cfg.model_name),
    notes,
  };
  if (architecture === "jumprelu") d.threshold = vector(t.get("threshold") ?? t.get("log_threshold"), dSae, "threshold", where);
  if (architecture === "jumprelu" && !t.has("threshold")) d.threshold = d.threshold!.map((v) => Math.exp(v));
  if (architecture === "gated") {
    d.bMag = vector(t.get("b_mag"), dSae, "b_mag", where);
    d.rMag = vector(t.get("r_mag"), dSae, "r_mag", where);
  }
  if (architecture === "topk") {
    const k = num(kRaw);
    if (!k || !Number.isInteger(k) || k < 1)
      throw new IntrospectError("bad-input", `${cfgFile}: a topk dictionary needs k (a positive integer).`);
    d.k = k;
  }
  if (t.has("W_skip")) d.wSkip = matrix(t.get("W_skip"), dIn, dOut, "W_skip", where);
  const sparsityFile = path.join(folder, "sparsity.safetensors");
  if (fs.existsSync(sparsityFile)) {
    const s = readTensors(sparsityFile);
    const first = s.get("sparsity") ?? s.get("log_feature_sparsity") ?? [...s.values()][0];
    if (first) d.logSparsity = vector(first, dSae, "sparsity", "sparsity.safetensors");
  }
  const made = str(meta.made_by);
  if (made) notes.push(made);
  return d;
}

/** Site of a Gemma Scope file from its path: `<site>[_all]/layer_<L>_...` or `layer_<L>/...` under `<site>`. */
function gemmaScopeHook(file: string): string | undefined {
  const parts = path.resolve(file).split(path.sep);
  for (let i = parts.length - 2; i >= 1; i--) {
    const m = /^layer_(\d+)/.exec(parts[i]);
    if (!m) continue;
    for (let j = i - 1; j >= Math.max(0, i - 2); j--) {
      const kind = /^(resid_post|attn_out|mlp_out|transcoder|clt)/.exec(parts[j].replace(/^gemma-scope-?\d*-?/, ""));
      if (!kind) continue;
      const site =
        kind[1] === "resid_post"
          ? "hook_resid_post"
          : kind[1] === "attn_out"
            ? "hook_attn_out"
            : kind[1] === "mlp_out"
              ? "hook_mlp_out"
              : "transcoder";
      return site === "transcoder" ? `transcoder:${m[1]}` : `blocks.${m[1]}.${site}`;
    }
  }
  return undefined;
}

export function loadGemmaScope(file: string): Dictionary {
  const where = path.basename(path.dirname(file)) + "/" + path.basename(file);
  const t = readTensors(file);
  const wEnc = t.get("w_enc") ?? t.get("W_enc");
  if (!wEnc || wEnc.shape.length !== 2) throw new IntrospectError("bad-input", `${where} has no 2-D w_enc: it is not a Gemma Scope file.`);
  const [dIn, dSae] = wEnc.shape;
  const wDecT = t.get("w_dec") ?? t.get("W_dec");
  const dOut = wDecT && wDecT.shape.length === 2 ? (wDecT.shape[0] === dSae ? wDecT.shape[1] : wDecT.shape[0]) : dIn;
  const cfgFile = path.join(path.dirname(file), "config.json");
  const cfg = fs.existsSync(cfgFile) ? readJson(cfgFile, "Gemma Scope config") : {};
  let hookIn = str(cfg.hf_hook_point_in) ?? str(cfg.hook_name) ?? gemmaScopeHook(file);
  let hookOut = str(cfg.hf_hook_point_out);
  if (hookIn?.startsWith("transcoder:")) {
    const layer = hookIn.slice("transcoder:".length);
    hookIn = `blocks.${layer}.hook_resid_mid`;
    hookOut = `blocks.${layer}.hook_mlp_out`;
  }
  if (!hookIn) {
    throw new IntrospectError(
      "bad-input",
      `${where} does not say which site it reads: keep it under its published path (resid_post/layer_N_.../params.safetensors) or beside its config.json.`,
    );
  }
  const notes: string[] = ["Gemma Scope: JumpReLU, inputs not shifted by b_dec."];
  const threshold = t.get("threshold");
  const d: Dictionary = {
    name: where,
    source: file,
    format: "gemma-scope",
    architecture: threshold ? "jumprelu" : "standard",
    dIn,
    dSae,
    dOut,
    wEnc: matrix(wEnc, dIn, dSae, "w_enc", where),
    bEnc: vector(t.get("b_enc"), dSae, "b_enc", where, 0),
    wDec: matrix(wDecT, dSae, dOut, "w_dec", where),
    bDec: vector(t.get("b_dec"), dOut, "b_dec", where, 0),
    threshold: threshold ? vector(threshold, dSae, "threshold", where) : undefined,
    applyBDecToInput: false,
    normalization: "none",
    hookIn,
    hookOut: hookOut && hookOut !== hookIn ? hookOut : undefined,
    site: hookIn,
    modelName: str(cfg.model_name),
    notes,
  };
  const skip = t.get("w_skip") ?? t.get("W_skip");
  if (skip) d.wSkip = matrix(skip, dIn, dOut, "w_skip", where);
  return d;
}

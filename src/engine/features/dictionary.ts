// A feature dictionary (sparse autoencoder or transcoder) in memory, and the arithmetic every
// architecture shares: encode activations into features, decode features back, and clamp one
// feature while keeping the part of the activation the dictionary does not explain.
//
// Conventions follow SAELens: W_enc [d_in, d_sae], W_dec [d_sae, d_out], row-major; input
// x' = norm(x) - b_dec (when apply_b_dec_to_input), pre = x' W_enc + b_enc, then the activation of
// the architecture; decode = f W_dec + b_dec (+ x W_skip for transcoders), de-normalised.

import type { HookName } from "../types";
import { IntrospectError } from "../types";

export type Architecture = "standard" | "gated" | "jumprelu" | "topk";

/** How inputs are scaled before encoding (SAELens normalize_activations). */
export type Normalization = "none" | "constant_norm_rescale" | "layer_norm";

export interface Dictionary {
  /** Shown in the panel: folder name or file name. */
  name: string;
  /** Where it was read from (folder or file); empty for one made in memory. */
  source: string;
  format: "saelens" | "gemma-scope" | "made-here";
  architecture: Architecture;
  dIn: number;
  dSae: number;
  /** Equal to dIn for autoencoders; the output site's width for transcoders. */
  dOut: number;
  wEnc: Float32Array;
  bEnc: Float32Array;
  wDec: Float32Array;
  bDec: Float32Array;
  /** JumpReLU thresholds [d_sae]. */
  threshold?: Float32Array;
  /** Gated SAEs: gate bias, magnitude bias and log-rescale [d_sae] each (b_enc is the gate bias). */
  bMag?: Float32Array;
  rMag?: Float32Array;
  /** TopK: features kept per token. */
  k?: number;
  /** Transcoders with a skip connection: W_skip [d_in, d_out]. */
  wSkip?: Float32Array;
  applyBDecToInput: boolean;
  normalization: Normalization;
  /** The file's own hook names (TransformerLens or HF style) and the model sites they map to. */
  hookIn: string;
  hookOut?: string;
  site: HookName;
  /** Transcoders: the site the reconstruction is compared with / written to. */
  outSite?: HookName;
  /** Model the file says it was trained on, when it says. */
  modelName?: string;
  /** log10 firing frequency per feature (SAELens sparsity.safetensors), when present. */
  logSparsity?: Float32Array;
  /** Free-form notes shown with the dictionary (how it was made, what was approximated). */
  notes: string[];
}

export function isTranscoder(d: Dictionary): boolean {
  return d.outSite !== undefined && d.outSite !== d.site;
}

/** Per-token scale applied before encoding and undone after decoding. */
interface Scaled {
  x: Float32Array;
  /** Per row: multiply the decoded output by `mul` and add `add`. */
  mul: Float64Array;
  add: Float64Array;
}

function normalise(d: Dictionary, x: Float32Array, n: number): Scaled {
  const mul = new Float64Array(n).fill(1);
  const add = new Float64Array(n);
  if (d.normalization === "none") return { x, mul, add };
  const out = new Float32Array(x.length);
  for (let r = 0; r < n; r++) {
    const row = x.subarray(r * d.dIn, (r + 1) * d.dIn);
    if (d.normalization === "constant_norm_rescale") {
      let s = 0;
      for (let i = 0; i < d.dIn; i++) s += row[i] * row[i];
      const norm = Math.sqrt(s) || 1;
      const f = Math.sqrt(d.dIn) / norm;
      for (let i = 0; i < d.dIn; i++) out[r * d.dIn + i] = row[i] * f;
      mul[r] = 1 / f;
    } else {
      let mean = 0;
      for (let i = 0; i < d.dIn; i++) mean += row[i];
      mean /= d.dIn;
      let v = 0;
      for (let i = 0; i < d.dIn; i++) v += (row[i] - mean) ** 2;
      const std = Math.sqrt(v / d.dIn + 1e-5);
      for (let i = 0; i < d.dIn; i++) out[r * d.dIn + i] = (row[i] - mean) / std;
      mul[r] = std;
      add[r] = mean;
    }
  }
  return { x: out, mul, add };
}

function checkRows(x: Float32Array, width: number, what: string): number {
  if (x.length % width !== 0) {
    throw new IntrospectError(
      "bad-input",
      `${what} has ${x.length} values, not a whole number of rows of ${width} (the dictionary's width).`,
    );
  }
  return x.length / width;
}

/** x [n, d_in] (row-major) times w [d_in, m] plus b [m] -> [n, m], accumulated in double. */
function affine(x: Float32Array, n: number, dIn: number, w: Float32Array, m: number, b?: Float32Array, scale?: Float32Array): Float32Array {
  const out = new Float32Array(n * m);
  const acc = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    if (b) for (let j = 0; j < m; j++) acc[j] = b[j];
    else acc.fill(0);
    for (let i = 0; i < dIn; i++) {
      const xi = x[r * dIn + i];
      if (xi === 0) continue;
      const base = i * m;
      for (let j = 0; j < m; j++) acc[j] += xi * w[base + j];
    }
    for (let j = 0; j < m; j++) out[r * m + j] = scale ? acc[j] * scale[j] : acc[j];
  }
  return out;
}

/** Pre-activations the architecture thresholds: [n, d_sae]. For gated SAEs, the gate. */
function encoderInput(d: Dictionary, x: Float32Array, n: number): Float32Array {
  if (!d.applyBDecToInput) return x;
  if (d.dOut !== d.dIn) return x;
  const out = new Float32Array(x.length);
  for (let r = 0; r < n; r++) for (let i = 0; i < d.dIn; i++) out[r * d.dIn + i] = x[r * d.dIn + i] - d.bDec[i];
  return out;
}

/** Feature activations [n, d_sae] of activations x [n, d_in]. */
export function encode(d: Dictionary, x: Float32Array): Float32Array {
  const n = checkRows(x, d.dIn, "The activation");
  const xin = encoderInput(d, normalise(d, x, n).x, n);
  const pre = affine(xin, n, d.dIn, d.wEnc, d.dSae, d.bEnc);
  switch (d.architecture) {
    case "standard":
      for (let i = 0; i < pre.length; i++) if (pre[i] < 0) pre[i] = 0;
      return pre;
    case "jumprelu": {
      const t = d.threshold!;
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < d.dSae; j++) {
          const v = pre[r * d.dSae + j];
          if (!(v > t[j] && v > 0)) pre[r * d.dSae + j] = 0;
        }
      }
      return pre;
    }
    case "topk":
      return keepTopK(pre, n, d.dSae, d.k ?? d.dSae);
    case "gated": {
      // Gate: W_enc with b_enc (b_gate); magnitude: W_enc scaled by exp(r_mag) with b_mag.
      const scale = Float32Array.from(d.rMag!, (v) => Math.exp(v));
      const mag = affine(xin, n, d.dIn, d.wEnc, d.dSae, undefined, scale);
      for (let i = 0; i < pre.length; i++) {
        const m = mag[i] + d.bMag![i % d.dSae];
        pre[i] = pre[i] > 0 && m > 0 ? m : 0;
      }
      return pre;
    }
  }
}

/** Keeps the k largest values of each row (ties: lower index first), then ReLU. */
export function keepTopK(pre: Float32Array, n: number, m: number, k: number): Float32Array {
  const out = new Float32Array(pre.length);
  const idx = new Array<number>(m);
  for (let r = 0; r < n; r++) {
    const row = pre.subarray(r * m, (r + 1) * m);
    for (let j = 0; j < m; j++) idx[j] = j;
    idx.sort((a, b) => row[b] - row[a] || a - b);
    for (let t = 0; t < Math.min(k, m); t++) {
      const j = idx[t];
      if (row[j] > 0) out[r * m + j] = row[j];
    }
  }
  return out;
}

/**
 * Reconstruction [n, d_out] from features [n, d_sae]. Transcoders add x W_skip and need the input
 * `x`; normalised dictionaries need `x` to undo the per-token scale.
 */
export function decode(d: Dictionary, f: Float32Array, x?: Float32Array): Float32Array {
  const n = checkRows(f, d.dSae, "The feature vector");
  const out = affine(f, n, d.dSae, d.wDec, d.dOut, d.bDec);
  if (d.normalization !== "none") {
    if (!x) throw new IntrospectError("internal", "Decoding a normalised dictionary needs the input activation.");
    const s = normalise(d, x, n);
    for (let r = 0; r < n; r++) for (let j = 0; j < d.dOut; j++) out[r * d.dOut + j] = out[r * d.dOut + j] * s.mul[r] + s.add[r];
  }
  if (d.wSkip) {
    if (!x) throw new IntrospectError("internal", "Decoding a transcoder with a skip connection needs its input.");
    const skip = affine(x, n, d.dIn, d.wSkip, d.dOut);
    for (let i = 0; i < out.length; i++) out[i] += skip[i];
  }
  return out;
}

/** Decoder row of one feature [d_out]: the direction it writes. */
export function decoderDirection(d: Dictionary, feature: number): Float32Array {
  if (!Number.isInteger(feature) || feature < 0 || feature >= d.dSae) {
    throw new IntrospectError("bad-input", `Feature ${feature} does not exist: ${d.name} has features 0 to ${d.dSae - 1}.`);
  }
  return d.wDec.slice(feature * d.dOut, (feature + 1) * d.dOut);
}

/** Per-token reading of a dictionary on activations x [n, d_in]. */
export interface Reading {
  n: number;
  features: Float32Array;
  reconstruction: Float32Array;
  /** ||target - reconstruction|| / ||target|| per token (target = x, or the output site for transcoders). */
  relError: Float32Array;
  /** Active features per token. */
  l0: Int32Array;
}

export function read(d: Dictionary, x: Float32Array, target: Float32Array = x): Reading {
  const features = encode(d, x);
  const n = features.length / d.dSae;
  const reconstruction = decode(d, features, x);
  if (target.length !== n * d.dOut)
    throw new IntrospectError("internal", "The output site's activation does not match the dictionary's output width.");
  const relError = new Float32Array(n);
  const l0 = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let e = 0;
    let t = 0;
    for (let j = 0; j < d.dOut; j++) {
      const v = target[r * d.dOut + j];
      e += (v - reconstruction[r * d.dOut + j]) ** 2;
      t += v * v;
    }
    relError[r] = Math.sqrt(e) / (Math.sqrt(t) || 1);
    let c = 0;
    for (let j = 0; j < d.dSae; j++) if (features[r * d.dSae + j] !== 0) c++;
    l0[r] = c;
  }
  return { n, features, reconstruction, relError, l0 };
}

/**
 * What clamping `feature` to `value` adds to an autoencoder's site, per token [n, d_in]: encode,
 * set, decode, and add back the error term; for a linear decoder that is (value - f) W_dec[feature]
 * (times the token's normalisation scale).
 */
export function clampDelta(d: Dictionary, x: Float32Array, feature: number, value: number): Float32Array {
  if (isTranscoder(d))
    throw new IntrospectError(
      "bad-input",
      `${d.name} is a transcoder: clamp a feature of an autoencoder, whose output is the site it reads.`,
    );
  const n = checkRows(x, d.dIn, "The activation");
  const f = encode(d, x);
  const dir = decoderDirection(d, feature);
  const s = normalise(d, x, n);
  const out = new Float32Array(x.length);
  for (let r = 0; r < n; r++) {
    const delta = (value - f[r * d.dSae + feature]) * s.mul[r];
    for (let i = 0; i < d.dIn; i++) out[r * d.dIn + i] = delta * dir[i];
  }
  return out;
}

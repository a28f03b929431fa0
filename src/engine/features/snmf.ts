// Semi-nonnegative matrix factorisation of MLP activations ("Decomposing MLP Activations into
// Interpretable Features via SNMF"): the neuron x token matrix A (here stored token-major, X = Aᵀ)
// is factored as A ≈ Z Y with Z [neurons, k] free (each feature a combination of neurons, made
// sparse by keeping its largest entries) and Y [k, tokens] ≥ 0 (how much each token uses each
// feature). Alternating updates after Ding, Li & Jordan: Z by least squares, Y multiplicatively.
// Saved as a SAELens "standard" dictionary: W_dec = Zᵀ, and an encoder W_enc = Z (ZᵀZ)⁻¹ with ReLU,
// the least-squares coefficients clipped at zero (noted in the file's metadata).

import { CancelToken, IntrospectError, throwIfCancelled } from "../types";
import type { Dictionary } from "./dictionary";
import { seededRandom } from "./train";

export interface SnmfOptions {
  k: number;
  iterations?: number;
  /** Fraction of neurons kept per feature (1 = dense), default 0.1. */
  sparsity?: number;
  seed?: number;
  onProgress?: (p: { iteration: number; iterations: number; relError: number }) => void;
  cancel?: CancelToken;
}

/** C = A [r, n] times B [n, c]; `at` reads A transposed (A stored [n, r]). */
function matmul(a: Float32Array | Float64Array, b: Float32Array | Float64Array, r: number, n: number, c: number, at = false): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let t = 0; t < n; t++) {
      const v = at ? a[t * r + i] : a[i * n + t];
      if (v === 0) continue;
      const ob = i * c;
      const bb = t * c;
      for (let j = 0; j < c; j++) out[ob + j] += v * b[bb + j];
    }
  }
  return out;
}

/** Inverse of a small symmetric positive-definite matrix [k, k] (Gauss-Jordan with a ridge). */
export function invertSpd(m: Float64Array, k: number, ridge = 1e-6): Float64Array {
  const a = Float64Array.from(m);
  let tr = 0;
  for (let i = 0; i < k; i++) tr += a[i * k + i];
  for (let i = 0; i < k; i++) a[i * k + i] += ridge * (tr / k || 1);
  const inv = new Float64Array(k * k);
  for (let i = 0; i < k; i++) inv[i * k + i] = 1;
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r * k + c]) > Math.abs(a[p * k + c])) p = r;
    if (p !== c) {
      for (let j = 0; j < k; j++) {
        [a[c * k + j], a[p * k + j]] = [a[p * k + j], a[c * k + j]];
        [inv[c * k + j], inv[p * k + j]] = [inv[p * k + j], inv[c * k + j]];
      }
    }
    const d = a[c * k + c];
    for (let j = 0; j < k; j++) {
      a[c * k + j] /= d;
      inv[c * k + j] /= d;
    }
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = a[r * k + c];
      if (f === 0) continue;
      for (let j = 0; j < k; j++) {
        a[r * k + j] -= f * a[c * k + j];
        inv[r * k + j] -= f * inv[c * k + j];
      }
    }
  }
  return inv;
}

/** Keeps the `keep` largest |values| of each column of z [d, k]. */
function sparsifyColumns(z: Float64Array, d: number, k: number, keep: number): void {
  if (keep >= d) return;
  const col = new Float64Array(d);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < d; i++) col[i] = Math.abs(z[i * k + j]);
    const cut = Float64Array.from(col).sort()[d - keep];
    for (let i = 0; i < d; i++) if (col[i] < cut) z[i * k + j] = 0;
  }
}

/**
 * Factors x [n tokens, d neurons]. Returns the dictionary (hook/site/name fields from `base`), the
 * coefficients Y [n, k] and the final relative error ||X - YᵀZᵀ|| / ||X||.
 */
export async function snmf(
  x: Float32Array,
  d: number,
  base: Pick<Dictionary, "name" | "source" | "hookIn" | "site" | "modelName">,
  o: SnmfOptions,
): Promise<{ dict: Dictionary; coefficients: Float32Array; relError: number }> {
  const n = x.length / d;
  const k = o.k;
  if (!Number.isInteger(n) || n < k)
    throw new IntrospectError("bad-input", `SNMF with ${k} features needs at least ${k} tokens; it got ${Math.floor(n)}.`);
  const iterations = o.iterations ?? 100;
  const keep = Math.max(1, Math.round((o.sparsity ?? 0.1) * d));
  const rand = seededRandom(o.seed ?? 1);
  // Y (stored [n, k], i.e. Yᵀ) starts positive and random.
  const yt = new Float64Array(n * k);
  for (let i = 0; i < yt.length; i++) yt[i] = 0.1 + rand();
  let xx = 0;
  for (const v of x) xx += v * v;
  let z: Float64Array = new Float64Array(d * k);
  let relError = 1;
  for (let it = 1; it <= iterations; it++) {
    throwIfCancelled(o.cancel);
    // Z = A Yᵀ (Y Yᵀ)⁻¹ = Xᵀ Yt (Ytᵀ Yt)⁻¹   [d, k]
    const xty = matmul(x, yt, d, n, k, true);
    const yy = matmul(yt, yt, k, n, k, true);
    z = matmul(xty, invertSpd(yy, k), d, k, k);
    sparsifyColumns(z, d, k, keep);
    // Y ← Y ⊙ sqrt(((ZᵀA)⁺ + (ZᵀZ)⁻Y) / ((ZᵀA)⁻ + (ZᵀZ)⁺Y)), in token-major form:
    // ZᵀA ↔ X Z [n, k]; (ZᵀZ)Y ↔ Yt (ZᵀZ) [n, k].
    const xz = matmul(x, z, n, d, k);
    const zz = matmul(z, z, k, d, k, true);
    const zzPos = zz.map((v) => Math.max(v, 0));
    const zzNeg = zz.map((v) => Math.max(-v, 0));
    const yPos = matmul(yt, zzPos, n, k, k);
    const yNeg = matmul(yt, zzNeg, n, k, k);
    for (let i = 0; i < yt.length; i++) {
      const num = Math.max(xz[i], 0) + yNeg[i];
      const den = Math.max(-xz[i], 0) + yPos[i] + 1e-12;
      yt[i] *= Math.sqrt(num / den);
    }
    if (it % 5 === 0 || it === iterations) {
      // ||X - Yt Zᵀ||² = ||X||² - 2 tr(Ytᵀ X Z) + tr(Zᵀ Z Ytᵀ Yt)
      const yyNew = matmul(yt, yt, k, n, k, true);
      let cross = 0;
      for (let i = 0; i < yt.length; i++) cross += yt[i] * xz[i];
      let quad = 0;
      for (let i = 0; i < k * k; i++) quad += zz[i] * yyNew[i];
      relError = Math.sqrt(Math.max(xx - 2 * cross + quad, 0) / (xx || 1));
      o.onProgress?.({ iteration: it, iterations, relError });
      await new Promise((r) => setImmediate(r));
    }
  }
  // Decoder rows are Zᵀ; encoder Z (ZᵀZ)⁻¹ gives least-squares coefficients, clipped by ReLU.
  const zz = matmul(z, z, k, d, k, true);
  const wEnc = Float32Array.from(matmul(z, invertSpd(zz, k), d, k, k));
  const wDec = new Float32Array(k * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < k; j++) wDec[j * d + i] = z[i * k + j];
  const dict: Dictionary = {
    ...base,
    format: "made-here",
    architecture: "standard",
    dIn: d,
    dSae: k,
    dOut: d,
    wEnc,
    bEnc: new Float32Array(k),
    wDec,
    bDec: new Float32Array(d),
    applyBDecToInput: false,
    normalization: "none",
    notes: [
      `SNMF of ${n} tokens into ${k} features (${keep} of ${d} neurons each), relative error ${relError.toFixed(3)}; encoder: least-squares coefficients clipped at zero.`,
    ],
  };
  return { dict, coefficients: Float32Array.from(yt), relError };
}

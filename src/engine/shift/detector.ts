// Activation-shift detector: a reference distribution of per-layer activations (the mean of each
// prompt's hook_resid_post over its tokens) fitted on benign prompts, with a Ledoit-Wolf shrunk
// covariance; a prompt is scored by its Mahalanobis distance to it. The covariance is never formed:
// with N reference prompts, Sigma = a I + b X^T X (X the centred features), and Woodbury's identity
// gives z^T Sigma^-1 z = (|z|^2 - b k^T (a I + b X X^T)^-1 k) / a with k = X z, so the cost is
// N x N whatever the model's width.
import type { LoadedModel } from "../model/loaded";
import type { TextTokenizer } from "../tokenizer";
import type { CancelToken } from "../types";
import { IntrospectError, hookName } from "../types";

export interface Reference {
  n: number;
  d: number;
  mean: Float64Array;
  /** Centred features, [n, d] row-major. */
  x: Float64Array;
  /** Sigma = a I + b X^T X. */
  a: number;
  b: number;
  /** Ledoit-Wolf shrinkage towards (trace / d) I. */
  shrinkage: number;
  /** (a I + b X X^T)^-1, [n, n]. */
  inner: Float64Array;
}

/** Per-layer features of each text: the mean over its tokens of every layer's output. [layer][text] -> [d]. */
export async function layerFeatures(
  model: LoadedModel,
  tok: TextTokenizer,
  texts: string[],
  cancel?: CancelToken,
): Promise<Float64Array[][]> {
  const L = model.info.numLayers;
  const sites = Array.from({ length: L }, (_, l) => hookName(l, "hook_resid_post"));
  const out: Float64Array[][] = sites.map(() => []);
  for (const text of texts) {
    const ids = tok.encode(text).map((t) => t.id);
    if (ids.length === 0) throw new IntrospectError("bad-input", `A prompt has no tokens: "${text.slice(0, 40)}".`);
    const r = await model.run({ ids, capture: sites, cancel });
    sites.forEach((s, l) => {
      const t = r.captures.get(s)!;
      const d = t.dims[t.dims.length - 1];
      const T = t.data.length / d;
      const m = new Float64Array(d);
      for (let i = 0; i < T; i++) for (let j = 0; j < d; j++) m[j] += t.data[i * d + j];
      for (let j = 0; j < d; j++) m[j] /= T;
      out[l].push(m);
    });
  }
  return out;
}

/** Inverse of a symmetric positive definite matrix (Cholesky), [n, n]. */
export function invertSpd(m: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = m[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (s <= 0) throw new IntrospectError("internal", "The reference covariance is not positive definite.");
        l[i * n + i] = Math.sqrt(s);
      } else l[i * n + j] = s / l[j * n + j];
    }
  // Columns of L^-1, then (L^-1)^T L^-1.
  const li = new Float64Array(n * n);
  for (let c = 0; c < n; c++)
    for (let i = c; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= l[i * n + k] * li[k * n + c];
      li[i * n + c] = s / l[i * n + i];
    }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
      inv[i * n + j] = inv[j * n + i] = s;
    }
  return inv;
}

/** Fits mean and Ledoit-Wolf shrunk covariance to feature rows (at least 2). */
export function fitReference(rows: Float64Array[]): Reference {
  const n = rows.length;
  if (n < 2) throw new IntrospectError("bad-input", `The reference needs at least 2 benign prompts; it has ${n}.`);
  const d = rows[0].length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j] += r[j] / n;
  const x = new Float64Array(n * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) x[i * d + j] = r[j] - mean[j];
  });
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k <= i; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[i * d + j] * x[k * d + j];
      g[i * n + k] = g[k * n + i] = s;
    }
  // S = X^T X / n. |S|_F^2 = sum G^2 / n^2, tr S = sum G_ii / n; x_i^T S x_i = sum_k G_ik^2 / n.
  let trace = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) trace += g[i * n + i] / n;
  for (let i = 0; i < n * n; i++) s2 += (g[i] * g[i]) / (n * n);
  const mu = trace / d;
  const delta = s2 - mu * mu * d; // |S - mu I|_F^2
  let beta = 0;
  for (let i = 0; i < n; i++) {
    let xsx = 0;
    for (let k = 0; k < n; k++) xsx += (g[i * n + k] * g[i * n + k]) / n;
    beta += g[i * n + i] * g[i * n + i] - 2 * xsx + s2; // |x_i x_i^T - S|_F^2
  }
  beta /= n * n;
  const shrinkage = delta > 0 ? Math.min(1, Math.min(beta, delta) / delta) : 1;
  const a = Math.max(shrinkage * mu, 1e-12 * (mu || 1));
  const b = (1 - shrinkage) / n;
  const m = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) m[i] = b * g[i];
  for (let i = 0; i < n; i++) m[i * n + i] += a;
  return { n, d, mean, x, a, b, shrinkage, inner: invertSpd(m, n) };
}

/** Mahalanobis distance of a feature row to the reference. */
export function mahalanobis(ref: Reference, v: Float64Array): number {
  const { n, d, x } = ref;
  const z = new Float64Array(d);
  let zz = 0;
  for (let j = 0; j < d; j++) {
    z[j] = v[j] - ref.mean[j];
    zz += z[j] * z[j];
  }
  const k = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[i * d + j] * z[j];
    k[i] = s;
  }
  let q = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += ref.inner[i * n + j] * k[j];
    q += k[i] * s;
  }
  return Math.sqrt(Math.max(0, (zz - ref.b * q) / ref.a));
}

/** Area under the ROC curve: the chance that a positive scores above a negative (ties count half). */
export function auroc(positive: number[], negative: number[]): number {
  if (positive.length === 0 || negative.length === 0) return NaN;
  let wins = 0;
  for (const p of positive) for (const q of negative) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (positive.length * negative.length);
}

/** The q-quantile (linear interpolation) of some numbers. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  return lo + 1 < s.length ? s[lo] + (s[lo + 1] - s[lo]) * (at - lo) : s[lo];
}

/**
 * The warning threshold of a reference: the 95th percentile of its own prompts' distances, each
 * measured with that prompt left out of the fit (an in-sample distance would be too small).
 */
export function leaveOneOutThreshold(rows: Float64Array[], q = 0.95): number {
  const d = rows.map((r, i) => mahalanobis(fitReference(rows.filter((_, j) => j !== i)), r));
  return quantile(d, q);
}

export interface LayerDetector {
  layer: number;
  reference: Reference;
  threshold: number;
}

export interface ShiftEvaluation {
  /** AUROC per layer: injection-style (positive) against benign held-out prompts. */
  auroc: number[];
  best: number;
  /** Scores per layer: [layer][prompt]. */
  scores: number[][];
}

/** Fits one detector per layer on benign texts. */
export async function fitDetectors(
  model: LoadedModel,
  tok: TextTokenizer,
  benign: string[],
  cancel?: CancelToken,
): Promise<LayerDetector[]> {
  const feats = await layerFeatures(model, tok, benign, cancel);
  return feats.map((rows, layer) => ({ layer, reference: fitReference(rows), threshold: leaveOneOutThreshold(rows) }));
}

/** Scores labelled prompts with fitted detectors and reports AUROC per layer and the best layer. */
export async function evaluateDetectors(
  model: LoadedModel,
  tok: TextTokenizer,
  detectors: LayerDetector[],
  labelled: Array<{ text: string; injection: boolean }>,
  cancel?: CancelToken,
): Promise<ShiftEvaluation> {
  const feats = await layerFeatures(
    model,
    tok,
    labelled.map((p) => p.text),
    cancel,
  );
  const scores = detectors.map((det) => feats[det.layer].map((f) => mahalanobis(det.reference, f)));
  const au = scores.map((s) =>
    auroc(
      s.filter((_, i) => labelled[i].injection),
      s.filter((_, i) => !labelled[i].injection),
    ),
  );
  let best = 0;
  au.forEach((v, l) => (v > au[best] ? (best = l) : undefined));
  return { auroc: au, best, scores };
}

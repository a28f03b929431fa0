// Building steering vectors from captured activations (RESEARCH.md "Changing activations"):
// difference of means and the first principal component of paired differences.

import { ActivationTensor, HookName, IntrospectError } from "../types";
import { Pooling, SteeringVector, VectorMethod, l2norm } from "./vector";

export interface BuildOptions {
  name: string;
  modelId: string;
  site: HookName;
  /** Last token (default) or mean over tokens of each prompt. */
  pooling?: Pooling;
  /** Unit-norm result (default true): the slider then measures strength in residual units. */
  normalise?: boolean;
  source?: string;
}

/**
 * Reduces one prompt's activation at a site to a vector. Accepts [seq, d] or [1, seq, d]
 * (batch 1). `positions` optionally restricts the mean to some token indices.
 */
export function pool(t: ActivationTensor, pooling: Pooling, positions?: number[]): Float32Array {
  const dims = t.dims.length === 3 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2) {
    throw new IntrospectError("bad-input", `Expected an activation of shape [tokens, width] for one prompt, got [${t.dims.join(", ")}].`);
  }
  const [seq, d] = dims;
  if (seq === 0) throw new IntrospectError("bad-input", "A prompt with no tokens gives no activation.");
  const out = new Float32Array(d);
  if (pooling === "last") {
    out.set(t.data.subarray((seq - 1) * d, seq * d));
    return out;
  }
  const rows = positions ?? Array.from({ length: seq }, (_, i) => i);
  for (const r of rows) {
    if (r < 0 || r >= seq) throw new IntrospectError("bad-input", `Token position ${r} is outside the prompt (0-${seq - 1}).`);
    for (let i = 0; i < d; i++) out[i] += t.data[r * d + i];
  }
  for (let i = 0; i < d; i++) out[i] /= rows.length;
  return out;
}

function checkSet(vs: Float32Array[], label: string): number {
  if (vs.length === 0) throw new IntrospectError("bad-input", `The ${label} set is empty: give at least one prompt.`);
  const d = vs[0].length;
  for (const v of vs) {
    if (v.length !== d) throw new IntrospectError("bad-input", `The ${label} activations have different widths (${d} and ${v.length}).`);
  }
  return d;
}

export function mean(vs: Float32Array[]): Float32Array {
  const d = vs[0].length;
  const out = new Float32Array(d);
  const acc = new Float64Array(d);
  for (const v of vs) for (let i = 0; i < d; i++) acc[i] += v[i];
  for (let i = 0; i < d; i++) out[i] = acc[i] / vs.length;
  return out;
}

function finish(data: Float32Array, method: VectorMethod, opts: BuildOptions, nPos: number, nNeg: number): SteeringVector {
  const rawNorm = l2norm(data);
  const normalise = opts.normalise ?? true;
  if (normalise) {
    if (rawNorm === 0) {
      throw new IntrospectError(
        "bad-input",
        `The positive and negative activations at ${opts.site} are identical, so there is no direction: use prompts that differ in the concept.`,
      );
    }
    for (let i = 0; i < data.length; i++) data[i] /= rawNorm;
  }
  return {
    name: opts.name,
    modelId: opts.modelId,
    site: opts.site,
    dim: data.length,
    data,
    meta: {
      method,
      pooling: opts.pooling ?? "last",
      normalised: normalise,
      rawNorm,
      nPositive: nPos,
      nNegative: nNeg,
      created: new Date().toISOString(),
      source: opts.source,
    },
  };
}

/** Difference of means: mean(positive) - mean(negative), of already pooled vectors. */
export function diffOfMeans(positive: Float32Array[], negative: Float32Array[], opts: BuildOptions): SteeringVector {
  const d = checkSet(positive, "positive");
  if (checkSet(negative, "negative") !== d) {
    throw new IntrospectError("bad-input", "Positive and negative activations have different widths.");
  }
  const mp = mean(positive);
  const mn = mean(negative);
  const data = new Float32Array(d);
  for (let i = 0; i < d; i++) data[i] = mp[i] - mn[i];
  return finish(data, "mean-diff", opts, positive.length, negative.length);
}

/** A vector from one pair of selections: positive - negative. */
export function fromPair(positive: Float32Array, negative: Float32Array, opts: BuildOptions): SteeringVector {
  const v = diffOfMeans([positive], [negative], opts);
  v.meta.method = "pair";
  return v;
}

export interface PcaOptions extends BuildOptions {
  /** Subtract the mean difference before PCA (default true, as repeng does). */
  center?: boolean;
  maxIterations?: number;
  /** Seed of the start vector, so that results are reproducible. */
  seed?: number;
}

/**
 * First principal component of the paired differences pos_i - neg_i, by power iteration on
 * X^T X (never forming the d x d matrix). The sign is fixed so that the positive set projects
 * higher than the negative one. Normalised: unit length. Raw: scaled by the mean projection of
 * the differences, so that it has the scale of the difference of means along that direction.
 */
export function pcaOfPairs(positive: Float32Array[], negative: Float32Array[], opts: PcaOptions): SteeringVector {
  const d = checkSet(positive, "positive");
  if (negative.length !== positive.length) {
    throw new IntrospectError(
      "bad-input",
      `PCA of paired differences needs as many negative prompts as positive ones (got ${positive.length} and ${negative.length}); use difference of means for unpaired sets.`,
    );
  }
  checkSet(negative, "negative");
  const n = positive.length;
  const diffs = positive.map((p, k) => {
    const q = negative[k];
    if (q.length !== d) throw new IntrospectError("bad-input", "Positive and negative activations have different widths.");
    const x = new Float64Array(d);
    for (let i = 0; i < d; i++) x[i] = p[i] - q[i];
    return x;
  });
  const center = opts.center ?? true;
  let X = diffs;
  if (center && n > 1) {
    const mu = new Float64Array(d);
    for (const x of diffs) for (let i = 0; i < d; i++) mu[i] += x[i] / n;
    X = diffs.map((x) => x.map((v, i) => v - mu[i]));
  }
  let v = powerIteration(X, d, opts);
  if (v === undefined) {
    // All centred differences vanish (one pair, or identical differences): the mean difference is the direction.
    const md = new Float64Array(d);
    for (const x of diffs) for (let i = 0; i < d; i++) md[i] += x[i] / n;
    const nn = norm64(md);
    if (nn === 0) {
      throw new IntrospectError("bad-input", `Positive and negative activations at ${opts.site} are identical: there is no direction.`);
    }
    v = md.map((x) => x / nn);
  }
  // Sign: positive prompts should project higher than negative ones.
  let sp = 0;
  let sn = 0;
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < d; i++) {
      sp += positive[k][i] * v[i];
      sn += negative[k][i] * v[i];
    }
  }
  if (sp < sn) v = v.map((x) => -x);
  const meanProj = (sp < sn ? sn - sp : sp - sn) / n;
  const data = new Float32Array(d);
  const raw = opts.normalise === false;
  for (let i = 0; i < d; i++) data[i] = raw ? v[i] * meanProj : v[i];
  return {
    name: opts.name,
    modelId: opts.modelId,
    site: opts.site,
    dim: d,
    data,
    meta: {
      method: "pca",
      pooling: opts.pooling ?? "last",
      normalised: !raw,
      rawNorm: meanProj,
      nPositive: n,
      nNegative: n,
      created: new Date().toISOString(),
      source: opts.source,
    },
  };
}

/** Returns the unit top eigenvector of X^T X, or undefined when X is (numerically) zero. */
export function powerIteration(
  X: Float64Array[],
  d: number,
  opts: { maxIterations?: number; seed?: number } = {},
): Float64Array | undefined {
  const scaleX = X.reduce((m, x) => x.reduce((mm, v) => Math.max(mm, Math.abs(v)), m), 0);
  if (scaleX === 0) return undefined;
  let seed = (opts.seed ?? 0x9e3779b9) >>> 0;
  const rnd = () => {
    // xorshift32: only for a reproducible, non-degenerate start vector.
    seed ^= seed << 13;
    seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    return seed / 4294967296 - 0.5;
  };
  let v = new Float64Array(d);
  for (let i = 0; i < d; i++) v[i] = rnd();
  let nv = norm64(v);
  v = v.map((x) => x / nv);
  const maxIt = opts.maxIterations ?? 1000;
  for (let it = 0; it < maxIt; it++) {
    const proj = X.map((x) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += x[i] * v[i];
      return s;
    });
    const w = new Float64Array(d);
    X.forEach((x, k) => {
      for (let i = 0; i < d; i++) w[i] += proj[k] * x[i];
    });
    nv = norm64(w);
    if (nv <= 1e-12 * scaleX * scaleX) return undefined;
    let delta = 0;
    for (let i = 0; i < d; i++) {
      w[i] /= nv;
      // Compare up to sign, since an iterate may flip when the eigenvalue structure allows.
      delta = Math.max(delta, Math.abs(Math.abs(w[i]) - Math.abs(v[i])));
    }
    v = w;
    if (delta < 1e-10) break;
  }
  return v;
}

function norm64(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

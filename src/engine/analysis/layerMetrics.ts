// Per-layer, per-token scalars of the layer heatmap and the logit lens.
import type { ActivationTensor } from "../types";
import { asMatrix, cosineDistance, entropy, l2Norm, row, softmax, topK } from "./tensorMath";

/** Token rows [start, end) of a [T, D] tensor. */
export interface RowRange {
  start: number;
  end: number;
}

function checkRange(r: RowRange, rows: number): void {
  if (r.start < 0 || r.end > rows || r.start > r.end) {
    throw new Error(`token range ${r.start}..${r.end} is outside a tensor of ${rows} tokens`);
  }
}

/** L2 norm of the residual at each token in the range. */
export function residualNorms(resid: ActivationTensor, range: RowRange): Float32Array {
  const m = asMatrix(resid);
  checkRange(range, m.rows);
  const out = new Float32Array(range.end - range.start);
  for (let t = range.start; t < range.end; t++) out[t - range.start] = l2Norm(row(m, t));
  return out;
}

/**
 * Activation shift: cosine distance of each token's residual after this layer from the residual
 * before it (the previous layer's output, or the embedding for layer 0). 0 = same direction.
 */
export function activationShift(before: ActivationTensor, after: ActivationTensor, range: RowRange): Float32Array {
  const a = asMatrix(before);
  const b = asMatrix(after);
  if (a.rows !== b.rows || a.cols !== b.cols) throw new Error("residuals before and after a layer differ in shape");
  checkRange(range, a.rows);
  const out = new Float32Array(range.end - range.start);
  for (let t = range.start; t < range.end; t++) out[t - range.start] = cosineDistance(row(a, t), row(b, t));
  return out;
}

/** What the logit lens says at one layer for a run of tokens. */
export interface LensLayer {
  k: number;
  /** [tokens, k] ids, most probable first. */
  ids: Int32Array;
  /** [tokens, k] their probabilities. */
  probs: Float32Array;
  /** Probability of the token that actually comes next; NaN where none follows. */
  nextProb: Float32Array;
  /** Entropy (nats) of the full next-token distribution. */
  entropy: Float32Array;
}

/**
 * Softmax, top-k, next-token probability and entropy of logit-lens logits.
 * `logits` is [T, V] (or [1, T, V]); rows `range` are used; nextIds[i] is the id following
 * token range.start + i, or -1 where the text ends.
 */
export function logitLensLayer(logits: ActivationTensor, range: RowRange, nextIds: Int32Array, k = 5): LensLayer {
  const m = asMatrix(logits);
  checkRange(range, m.rows);
  const n = range.end - range.start;
  if (nextIds.length !== n) throw new Error(`${nextIds.length} next-token ids for ${n} tokens`);
  const kk = Math.min(k, m.cols);
  const out: LensLayer = {
    k: kk,
    ids: new Int32Array(n * kk),
    probs: new Float32Array(n * kk),
    nextProb: new Float32Array(n),
    entropy: new Float32Array(n),
  };
  for (let i = 0; i < n; i++) {
    const p = softmax(row(m, range.start + i));
    const top = topK(p, kk);
    out.ids.set(top.indices, i * kk);
    out.probs.set(top.values, i * kk);
    const next = nextIds[i];
    out.nextProb[i] = next >= 0 && next < p.length ? p[next] : NaN;
    out.entropy[i] = entropy(p);
  }
  return out;
}

/** The id following each token of the range in the full token list (-1 after the last token). */
export function nextTokenIds(ids: ArrayLike<number>, range: RowRange): Int32Array {
  const out = new Int32Array(range.end - range.start);
  for (let t = range.start; t < range.end; t++) out[t - range.start] = t + 1 < ids.length ? ids[t + 1] : -1;
  return out;
}

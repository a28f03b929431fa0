// The numbers of a two-model diff, from captured tensors: pure functions over [tokens, d] rows and
// [tokens, vocab] logits, accumulated in float64.
import type { ActivationTensor } from "../types";
import { asMatrix, cosineDistance, row, type Matrix } from "../analysis/tensorMath";
import { argmax, klFromLog, logSoftmax } from "../generate/readout";

/** Per token: |a - b|, cos(a, b) and |a - b| / |a| (a is the reference side). */
export interface RowDiff {
  norm: Float32Array;
  cosine: Float32Array;
  relative: Float32Array;
}

/** Both tensors as matrices of one shape; `mismatch` says why they cannot be compared. */
function sameShape(a: ActivationTensor, b: ActivationTensor, mismatch: (A: Matrix, B: Matrix) => string): [Matrix, Matrix] {
  const A = asMatrix(a);
  const B = asMatrix(b);
  if (A.rows !== B.rows || A.cols !== B.cols) throw new Error(mismatch(A, B));
  return [A, B];
}

export function rowDiff(a: ActivationTensor, b: ActivationTensor): RowDiff {
  const [A, B] = sameShape(a, b, (A, B) => `cannot compare a [${A.rows}, ${A.cols}] activation with a [${B.rows}, ${B.cols}] one`);
  const norm = new Float32Array(A.rows);
  const cosine = new Float32Array(A.rows);
  const relative = new Float32Array(A.rows);
  for (let t = 0; t < A.rows; t++) {
    const x = row(A, t);
    const y = row(B, t);
    let d2 = 0;
    let n2 = 0;
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - y[i];
      d2 += d * d;
      n2 += x[i] * x[i];
    }
    norm[t] = Math.sqrt(d2);
    cosine[t] = 1 - cosineDistance(x, y);
    relative[t] = n2 > 0 ? Math.sqrt(d2 / n2) : d2 > 0 ? Infinity : 0;
  }
  return { norm, cosine, relative };
}

/** Per token: KL(P_a || P_b) of the next-token distributions (nats) and both top-1 ids. */
export interface NextTokenDiff {
  kl: Float32Array;
  top1A: Int32Array;
  top1B: Int32Array;
}

export function nextTokenDiff(a: ActivationTensor, b: ActivationTensor): NextTokenDiff {
  const [A, B] = sameShape(a, b, (A, B) => `cannot compare logits [${A.rows}, ${A.cols}] with [${B.rows}, ${B.cols}]`);
  const kl = new Float32Array(A.rows);
  const top1A = new Int32Array(A.rows);
  const top1B = new Int32Array(A.rows);
  for (let t = 0; t < A.rows; t++) {
    kl[t] = klFromLog(logSoftmax(row(A, t)), logSoftmax(row(B, t)));
    top1A[t] = argmax(row(A, t));
    top1B[t] = argmax(row(B, t));
  }
  return { kl, top1A, top1B };
}

export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return x.length ? s / x.length : 0;
}

/**
 * The layer where the two models part most: the largest rise of the mean relative difference of the
 * residual from one layer's output to the next (`before` = the difference entering layer 0, zero
 * when both embed alike). A layer whose own weights differ shows as the step where the gap grows,
 * even when later layers carry (or amplify) it.
 */
export function driftLayer(meanRelative: ArrayLike<number>, before = 0): { layer: number; rise: number } {
  let best = { layer: 0, rise: -Infinity };
  let prev = before;
  for (let l = 0; l < meanRelative.length; l++) {
    const rise = meanRelative[l] - prev;
    if (rise > best.rise) best = { layer: l, rise };
    prev = meanRelative[l];
  }
  return best;
}

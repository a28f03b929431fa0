// Small numeric kernels shared by the probe analyses. Pure functions over Float32Array rows;
// accumulation in float64 so sums over thousands of dims or a 150k vocabulary stay accurate.
import type { ActivationTensor } from "../types";

/** A tensor viewed as a matrix: leading size-1 dims (batch) dropped, last dim = columns. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Views [1, T, D], [T, D] or [D] as a T x D matrix without copying. */
export function asMatrix(t: ActivationTensor): Matrix {
  const dims = t.dims.slice();
  while (dims.length > 2 && dims[0] === 1) dims.shift();
  if (dims.length === 1) return { rows: 1, cols: dims[0], data: t.data };
  if (dims.length !== 2) throw new Error(`expected a [tokens, features] tensor, got dims [${t.dims.join(", ")}]`);
  if (dims[0] * dims[1] !== t.data.length) throw new Error(`tensor dims [${t.dims.join(", ")}] do not match ${t.data.length} values`);
  return { rows: dims[0], cols: dims[1], data: t.data };
}

export function row(m: Matrix, i: number): Float32Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/** 1 - cos(a, b); NaN when either vector is all zeros (no direction to compare). */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`cosine of vectors of length ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  if (na === 0 || nb === 0) return NaN;
  return 1 - dot / Math.sqrt(na * nb);
}

/** Numerically stable softmax (subtracts the max). */
export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Shannon entropy in nats of a probability vector (0 log 0 = 0). */
export function entropy(probs: Float32Array): number {
  let h = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

/** Indices and values of the k largest entries, largest first; ties keep the lower index first. */
export function topK(values: Float32Array, k: number): { indices: Int32Array; values: Float32Array } {
  const n = Math.min(k, values.length);
  const idx = new Int32Array(n);
  const val = new Float32Array(n).fill(-Infinity);
  let filled = 0;
  // Insertion into a small sorted buffer: O(V * k), fine for k <= 64 and one pass over the vocabulary.
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    if (filled === n && v <= val[n - 1]) continue;
    let j = filled < n ? filled++ : n - 1;
    while (j > 0 && val[j - 1] < v) {
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
  return { indices: idx.subarray(0, filled), values: val.subarray(0, filled) };
}

/** Median of |values| (average of the two middle ones for even counts), in linear time without a
 * copy: a probe takes it over every layer's [tokens, width] residual (2 M values per layer at 1,024
 * tokens x 2048). The |x| of a float32 is its bits without the sign, and those order as unsigned
 * integers do, so a two-level radix selection (top 15 bits, then the low 16) finds the middle
 * values in three passes over the data. NaN counts as larger than every number. */
export function medianAbs(values: Float32Array): number {
  const n = values.length;
  if (n === 0) return NaN;
  const bits = new Uint32Array(values.buffer, values.byteOffset, n);
  const high = new Uint32Array(1 << 15);
  for (let i = 0; i < n; i++) high[(bits[i] & 0x7fffffff) >>> 16]++;
  const m = n >> 1;
  const upper = absKth(bits, high, m);
  return n % 2 ? upper : (absKth(bits, high, m - 1) + upper) / 2;
}

/** The k-th smallest |value| (0-based) of the float32 `bits`, given the histogram of their top 15 bits. */
function absKth(bits: Uint32Array, high: Uint32Array, k: number): number {
  let bin = 0;
  let below = 0;
  while (below + high[bin] <= k) below += high[bin++];
  const low = new Uint32Array(1 << 16);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i] & 0x7fffffff;
    if (b >>> 16 === bin) low[b & 0xffff]++;
  }
  let v = 0;
  while (below + low[v] <= k) below += low[v++];
  return new Float32Array(Uint32Array.of((bin << 16) | v).buffer)[0];
}

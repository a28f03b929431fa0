// Cuts one head's attention out of `blocks.{L}.attn.hook_pattern` ([1, H, T, T] or [H, T, T]).
import type { ActivationTensor } from "../types";
import type { RowRange } from "./layerMetrics";

/**
 * Rows = query tokens in `range`, columns = key tokens 0..range.end-1 (later keys are masked by
 * causality, so they are left out). Returns the pattern as a [queries, keys] row-major array.
 */
export function headPattern(pattern: ActivationTensor, head: number, range: RowRange): { dims: number[]; data: Float32Array } {
  const dims = pattern.dims.slice();
  while (dims.length > 3 && dims[0] === 1) dims.shift();
  if (dims.length !== 3 || dims[1] !== dims[2]) {
    throw new Error(`expected an attention pattern [heads, tokens, tokens], got [${pattern.dims.join(", ")}]`);
  }
  const [h, t] = dims;
  if (head < 0 || head >= h) throw new Error(`head ${head} does not exist: this layer has ${h} heads`);
  if (range.start < 0 || range.end > t || range.start > range.end) throw new Error(`token range outside ${t} tokens`);
  const q = range.end - range.start;
  const keys = range.end;
  const out = new Float32Array(q * keys);
  const base = head * t * t;
  for (let i = 0; i < q; i++) {
    const src = base + (range.start + i) * t;
    out.set(pattern.data.subarray(src, src + keys), i * keys);
  }
  return { dims: [q, keys], data: out };
}

// Per-head summaries of attention patterns, as in the circuits literature: mean entropy of a
// query's weights, the previous-token score (weight on position i-1) and the induction score
// (weight on the token after the previous occurrence of the current token: `A B … A -> B`).
// Pure and browser-safe: the probe panel's head x layer summary and the unit tests use it.
import type { ProbeResult } from "../../src/protocol/probeData";

/** One head's pattern: `q` query rows (absolute positions `start` … start+q-1) over `keys` key positions. */
export interface HeadPattern {
  data: Float32Array;
  q: number;
  keys: number;
  /** Absolute position of query row 0. */
  start: number;
}

export interface HeadScores {
  /** Mean over queries of -Σ p log p (nats). */
  entropy: number;
  /** Mean weight on the previous position (queries at position ≥ 1). */
  prevToken: number;
  /** Mean weight on the position after the previous occurrence of the query's token; NaN when no token repeats. */
  induction: number;
}

export function headScores(p: HeadPattern, ids: ArrayLike<number>): HeadScores {
  let ent = 0;
  let prev = 0;
  let prevN = 0;
  let ind = 0;
  let indN = 0;
  const last = new Map<number, number>();
  // Occurrences before the first query row count too (the context before a selection).
  for (let t = 0; t < p.start; t++) last.set(ids[t], t);
  for (let i = 0; i < p.q; i++) {
    const pos = p.start + i;
    const row = i * p.keys;
    for (let k = 0; k <= pos && k < p.keys; k++) {
      const w = p.data[row + k];
      if (w > 0) ent -= w * Math.log(w);
    }
    if (pos >= 1) {
      prev += p.data[row + pos - 1];
      prevN++;
    }
    const seen = last.get(ids[pos]);
    if (seen !== undefined && seen + 1 <= pos) {
      ind += p.data[row + seen + 1];
      indN++;
    }
    last.set(ids[pos], pos);
  }
  return { entropy: ent / Math.max(1, p.q), prevToken: prevN ? prev / prevN : NaN, induction: indN ? ind / indN : NaN };
}

/** Time of the probe's own forward pass times the summary's passes, above which the summary waits for a click. */
export const AUTO_SUMMARY_MS = 5000;

/** What the head x layer summary costs: one pass per layer (each gives every head of its layer). */
export function summaryPlan(r: Pick<ProbeResult, "layerCount" | "timing">): { passes: number; estimateMs?: number; auto: boolean } {
  const passes = r.layerCount;
  const f = r.timing?.forwardMs;
  const estimateMs = f === undefined ? undefined : f * passes;
  return { passes, ...(estimateMs === undefined ? {} : { estimateMs }), auto: estimateMs !== undefined && estimateMs <= AUTO_SUMMARY_MS };
}

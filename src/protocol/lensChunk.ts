// Merging a logit-lens chunk (ProbeSession.lens, introspect/probeLens) into a probe result whose
// lens was computed for only some selected tokens (LogitLensData.computed): the lens table's ids
// and probabilities, the two lens metrics of the layer heatmap, the vocabulary, the computed
// columns. Pure, browser-safe: the extension and the probe panel both run it (so it is not engine
// code, which the extension never bundles).
import type { LensChunk, ProbeResult } from "../engine/shapes";

/** Column ranges merged and sorted, touching ones joined. */
function joinRanges(ranges: { start: number; end: number }[]): { start: number; end: number }[] {
  const sorted = ranges.filter((r) => r.end > r.start).sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** The selected-token columns whose lens is not computed yet (none: the lens is complete). */
export function lensMissing(r: ProbeResult): { start: number; end: number }[] {
  const n = r.selection.end - r.selection.start;
  if (!r.logitLens.computed) return [];
  const out: { start: number; end: number }[] = [];
  let at = 0;
  for (const c of joinRanges(r.logitLens.computed)) {
    if (c.start > at) out.push({ start: at, end: c.start });
    at = Math.max(at, c.end);
  }
  if (at < n) out.push({ start: at, end: n });
  return out;
}

/** Writes `chunk` into `r` (in place); throws when it does not fit the result's shape. */
export function mergeLensChunk(r: ProbeResult, chunk: LensChunk): void {
  const n = r.selection.end - r.selection.start;
  const L = r.layerCount;
  const k = r.logitLens.k;
  const m = chunk.end - chunk.start;
  if (
    chunk.start < 0 ||
    chunk.end > n ||
    m <= 0 ||
    chunk.k !== k ||
    chunk.ids.data.length !== L * m * k ||
    chunk.entropy.data.length !== L * m
  )
    throw new Error(`a logit-lens chunk for columns ${chunk.start}-${chunk.end} does not fit this probe (${L} layers, ${n} tokens)`);
  for (let l = 0; l < L; l++)
    for (let i = 0; i < m; i++) {
      const dst = l * n + chunk.start + i;
      const src = l * m + i;
      r.logitLens.ids.data.set(chunk.ids.data.subarray(src * k, (src + 1) * k), dst * k);
      r.logitLens.probs.data.set(chunk.probs.data.subarray(src * k, (src + 1) * k), dst * k);
      r.metrics.nextTokenProb.data[dst] = chunk.nextProb.data[src];
      r.metrics.entropy.data[dst] = chunk.entropy.data[src];
    }
  Object.assign(r.logitLens.vocab, chunk.vocab);
  const computed = joinRanges([...(r.logitLens.computed ?? []), { start: chunk.start, end: chunk.end }]);
  if (computed.length === 1 && computed[0].start === 0 && computed[0].end === n) delete r.logitLens.computed;
  else r.logitLens.computed = computed;
}

// Per-layer, per-token scalars of the layer heatmap and the logit lens: the kernels, and
// LAYER_METRIC_DEFS, the one list of the heatmap's metrics (name, sites read, computation). A new
// metric is an entry here plus its description in webview/probe/metrics.ts (see ARCHITECTURE.md).
import { hookName, type ActivationTensor } from "../types";
import { emptyLensLayer, type ActivationCache, type LensLayer, type RowRange } from "./cache";
import { asMatrix, cosineDistance, entropy, l2Norm, row, softmax, topK } from "./tensorMath";

export type { LensLayer, RowRange } from "./cache";

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
  const out = emptyLensLayer(n, kk);
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

/**
 * Cosine similarity of each token's residual after a layer to the residual after the layer
 * before it (1 = the layer kept the direction). NaN when either vector is all zeros.
 */
export function residualCosine(previous: ActivationTensor, current: ActivationTensor, range: RowRange): Float32Array {
  const out = activationShift(previous, current, range);
  for (let i = 0; i < out.length; i++) out[i] = 1 - out[i];
  return out;
}

/** One metric of the layer heatmap: a value per selected token at each layer. */
export interface LayerMetric {
  /** Sites of layer `layer` it reads, for the capture plan (missing ones give NaN or a fallback). */
  sites(layer: number): string[];
  /** [selected tokens] at `layer`; NaN where the metric is undefined. */
  compute(cache: ActivationCache, layer: number): Float32Array;
}

const residPost = (l: number) => hookName(l, "hook_resid_post");

function lensRow(cache: ActivationCache, layer: number, pick: (lens: LensLayer) => Float32Array): Float32Array {
  const lens = cache.lens?.[layer];
  if (!lens) return new Float32Array(cache.selected).fill(NaN);
  if (lens.nextProb.length !== cache.selected)
    throw new Error(`logit lens of layer ${layer} covers ${lens.nextProb.length} tokens, not ${cache.selected}`);
  return pick(lens);
}

/** The heatmap's metrics, in the order the panel lists them. */
export const LAYER_METRIC_DEFS = {
  residNorm: {
    sites: (l) => [residPost(l)],
    compute: (c, l) => residualNorms(c.get(residPost(l)), c.selection),
  },
  shift: {
    // Layer 0 is measured from the embedding (blocks.0.hook_resid_pre); without it, n/a.
    sites: (l) => [l === 0 ? hookName(0, "hook_resid_pre") : residPost(l - 1), residPost(l)],
    compute: (c, l) => {
      const before = l === 0 ? c.at(0, "hook_resid_pre") : c.get(residPost(l - 1));
      if (!before) return new Float32Array(c.selected).fill(NaN);
      return activationShift(before, c.get(residPost(l)), c.selection);
    },
  },
  residCosine: {
    // Layer 0 has no previous layer: n/a there.
    sites: (l) => (l === 0 ? [] : [residPost(l - 1), residPost(l)]),
    compute: (c, l) =>
      l === 0 ? new Float32Array(c.selected).fill(NaN) : residualCosine(c.get(residPost(l - 1)), c.get(residPost(l)), c.selection),
  },
  nextTokenProb: { sites: () => [], compute: (c, l) => lensRow(c, l, (lens) => lens.nextProb) },
  entropy: { sites: () => [], compute: (c, l) => lensRow(c, l, (lens) => lens.entropy) },
} satisfies Record<string, LayerMetric>;

export type LayerMetricName = keyof typeof LAYER_METRIC_DEFS;

export const LAYER_METRICS = Object.keys(LAYER_METRIC_DEFS) as LayerMetricName[];

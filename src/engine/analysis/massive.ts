// Massive activations: hidden dims whose magnitude is hundreds of times the layer's typical one
// ("Hidden Dynamics of Massive Activations"). They often sit on the first token or delimiters
// and explain odd residual norms, so the panel lists them beside the heatmap.
import type { ActivationTensor } from "../types";
import { asMatrix, medianAbs } from "./tensorMath";

export interface MassiveDim {
  dim: number;
  maxAbs: number;
  layerMedianAbs: number;
  /** Token rows where |value| exceeds the threshold. */
  tokens: number[];
}

/** Dims with max |value| > factor x median |value| of the whole [T, D] tensor, largest first. */
export function massiveActivations(resid: ActivationTensor, factor = 100): MassiveDim[] {
  const m = asMatrix(resid);
  const med = medianAbs(m.data);
  if (!(med > 0)) return [];
  const threshold = factor * med;
  // Row by row (the tensor's memory order): each column's max |value|, then the rows of the few
  // columns over the threshold.
  const colMax = new Float32Array(m.cols);
  for (let t = 0; t < m.rows; t++) {
    const base = t * m.cols;
    for (let j = 0; j < m.cols; j++) {
      const a = Math.abs(m.data[base + j]);
      if (a > colMax[j]) colMax[j] = a;
    }
  }
  const out: MassiveDim[] = [];
  for (let j = 0; j < m.cols; j++) {
    if (!(colMax[j] > threshold)) continue;
    const tokens: number[] = [];
    for (let t = 0; t < m.rows; t++) if (Math.abs(m.data[t * m.cols + j]) > threshold) tokens.push(t);
    out.push({ dim: j, maxAbs: colMax[j], layerMedianAbs: med, tokens });
  }
  return out.sort((a, b) => b.maxAbs - a.maxAbs);
}

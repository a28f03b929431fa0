// MLP neuron ranking for the neuron x token heatmap.
import type { ActivationTensor } from "../types";
import { asMatrix } from "./tensorMath";
import type { RowRange } from "./layerMetrics";

/**
 * The k neurons with the largest max |activation| over the token range, largest first, and
 * each one's activation at every token (context included) as a [k, T] row-major array.
 */
export function topNeurons(
  mlpPost: ActivationTensor,
  range: RowRange,
  k: number,
): { neurons: Int32Array; maxAbs: Float32Array; values: Float32Array; tokens: number; dMlp: number } {
  const m = asMatrix(mlpPost);
  if (range.start < 0 || range.end > m.rows || range.start >= range.end) {
    throw new Error(`token range ${range.start}..${range.end} is outside ${m.rows} tokens`);
  }
  const score = new Float32Array(m.cols);
  for (let t = range.start; t < range.end; t++) {
    const base = t * m.cols;
    for (let j = 0; j < m.cols; j++) {
      const a = Math.abs(m.data[base + j]);
      if (a > score[j]) score[j] = a;
    }
  }
  const order = Array.from({ length: m.cols }, (_, j) => j);
  // Stable sort by descending score keeps lower indices first on ties, so results are reproducible.
  order.sort((a, b) => score[b] - score[a] || a - b);
  const kk = Math.min(k, m.cols);
  const neurons = Int32Array.from(order.slice(0, kk));
  const maxAbs = Float32Array.from(neurons, (j) => score[j]);
  const values = new Float32Array(kk * m.rows);
  for (let i = 0; i < kk; i++) {
    const j = neurons[i];
    for (let t = 0; t < m.rows; t++) values[i * m.rows + t] = m.data[t * m.cols + j];
  }
  return { neurons, maxAbs, values, tokens: m.rows, dMlp: m.cols };
}

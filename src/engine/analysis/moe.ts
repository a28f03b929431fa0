// Mixture-of-experts routing recomputed from router logits (`blocks.{L}.moe.hook_router_logits`).
// Fused MoE ops hide the top-k choice, so it is recomputed here the way the router makes it:
// softmax over all experts, then the k most probable.
import type { ActivationTensor } from "../types";
import { asMatrix, row, softmax, topK } from "./tensorMath";
import type { RowRange } from "./layerMetrics";

export interface Routing {
  k: number;
  /** [tokens, k] chosen experts, most probable first. */
  experts: Int32Array;
  /** [tokens, k] their softmax probabilities over all experts. */
  probs: Float32Array;
}

export function routeTopK(routerLogits: ActivationTensor, range: RowRange, k: number): Routing {
  const m = asMatrix(routerLogits);
  if (range.start < 0 || range.end > m.rows || range.start > range.end) {
    throw new Error(`token range ${range.start}..${range.end} is outside ${m.rows} tokens`);
  }
  const kk = Math.min(k, m.cols);
  const n = range.end - range.start;
  const experts = new Int32Array(n * kk);
  const probs = new Float32Array(n * kk);
  for (let i = 0; i < n; i++) {
    const top = topK(softmax(row(m, range.start + i)), kk);
    experts.set(top.indices, i * kk);
    probs.set(top.values, i * kk);
  }
  return { k: kk, experts, probs };
}

/** How many tokens each expert received (counted once per token it is among the top-k for). */
export function expertUsage(experts: Int32Array, numExperts: number): Float32Array {
  const counts = new Float32Array(numExperts);
  for (const e of experts) if (e >= 0 && e < numExperts) counts[e]++;
  return counts;
}

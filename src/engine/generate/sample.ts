// Token choice: greedy by default, or seeded sampling. Each sampled step draws exactly one
// uniform number, so two runs with the same seed (steered and unsteered) use the same random
// number at every step: where their distributions agree they pick the same token, and any
// difference comes from the steering, not from the dice.

import { IntrospectError } from "../types";
import { argmax, logSoftmax } from "./readout";

export type SamplingOptions = { kind: "greedy" } | { kind: "sample"; seed: number; temperature?: number; topK?: number; topP?: number };

export const GREEDY: SamplingOptions = { kind: "greedy" };

/** mulberry32: a tiny 32-bit PRNG, good enough for choosing tokens reproducibly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function checkSampling(o: SamplingOptions): void {
  if (o.kind === "greedy") return;
  if (!Number.isFinite(o.seed)) throw new IntrospectError("bad-input", "Sampling needs a numeric seed.");
  if (o.temperature !== undefined && !(o.temperature > 0)) {
    throw new IntrospectError("bad-input", `Temperature must be above 0 (got ${o.temperature}); use greedy decoding for temperature 0.`);
  }
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 1)) {
    throw new IntrospectError("bad-input", `top-k must be a whole number of at least 1 (got ${o.topK}).`);
  }
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) {
    throw new IntrospectError("bad-input", `top-p must be in (0, 1] (got ${o.topP}).`);
  }
}

/** A stateful chooser; create one per run with the same options to get comparable runs. */
export function makeSampler(o: SamplingOptions): (logits: ArrayLike<number>) => number {
  checkSampling(o);
  if (o.kind === "greedy") return (l) => argmax(l);
  const rnd = mulberry32(o.seed);
  return (logits) => {
    const u = rnd();
    const t = o.temperature ?? 1;
    const scaled = new Float64Array(logits.length);
    for (let i = 0; i < logits.length; i++) scaled[i] = logits[i] / t;
    const lp = logSoftmax(scaled);
    let ids = Array.from({ length: logits.length }, (_, i) => i);
    // Truncation needs candidates in descending probability (ties by id, so the order is
    // deterministic); plain sampling walks the ids in order and skips the sort.
    if (o.topK !== undefined || o.topP !== undefined) ids.sort((a, b) => lp[b] - lp[a] || a - b);
    if (o.topK !== undefined) ids = ids.slice(0, o.topK);
    if (o.topP !== undefined) {
      let c = 0;
      let cut = ids.length;
      for (let k = 0; k < ids.length; k++) {
        c += Math.exp(lp[ids[k]]);
        if (c >= o.topP) {
          cut = k + 1;
          break;
        }
      }
      ids = ids.slice(0, cut);
    }
    let total = 0;
    for (const id of ids) total += Math.exp(lp[id]);
    let acc = 0;
    const target = u * total;
    for (const id of ids) {
      acc += Math.exp(lp[id]);
      if (target < acc) return id;
    }
    return ids[ids.length - 1];
  };
}

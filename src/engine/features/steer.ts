// Steering with features: a feature's decoder direction as a steering vector (scaled to its
// typical activation), and generation with one feature clamped to a value at every position
// (encode, set, decode, add back the error term: the site becomes x + (value - f) W_dec[feature]).

import type { LoadedModel } from "../model/loaded";
import { makeVector, type SteeringVector } from "../steer/vector";
import { CancelToken, throwIfCancelled } from "../types";
import { clampDelta, decoderDirection, type Dictionary } from "./dictionary";

/** The decoder direction times `typical` (the feature's usual activation when it fires). */
export function featureVector(d: Dictionary, feature: number, typical: number, modelId: string): SteeringVector {
  const dir = decoderDirection(d, feature);
  const data = Float32Array.from(dir, (v) => v * typical);
  return makeVector({
    name: `${d.name.split(/[\\/]/).pop()} #${feature}`,
    modelId,
    site: d.outSite ?? d.site,
    data,
    meta: {
      method: "manual",
      source: `feature ${feature} of ${d.source || d.name}, decoder direction × typical activation ${typical.toPrecision(3)}`,
    },
  });
}

export interface ClampOptions {
  feature: number;
  /** Undefined: no clamp (the model's own greedy continuation, for comparison). */
  value: number | undefined;
  maxNewTokens?: number;
  /** Stop at this token id (end of text). */
  eos?: number;
  cancel?: CancelToken;
}

function argmaxLast(logits: Float32Array, vocab: number): number {
  const base = logits.length - vocab;
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[base + i] > logits[base + best]) best = i;
  return best;
}

/**
 * Greedy continuation of `ids` with the feature clamped at every position: each step captures the
 * site, computes the clamp's per-position addition, and runs again with it.
 */
export async function generateClamped(model: LoadedModel, d: Dictionary, ids: number[], o: ClampOptions): Promise<number[]> {
  const out: number[] = [];
  const seq = [...ids];
  const vocab = model.info.vocabSize;
  for (let step = 0; step < (o.maxNewTokens ?? 10); step++) {
    throwIfCancelled(o.cancel);
    const first = await model.run({ ids: seq, capture: [d.site], cancel: o.cancel });
    let logits = first.logits;
    if (o.value !== undefined) {
      const x = first.captures.get(d.site)!;
      const delta = clampDelta(d, x.data, o.feature, o.value);
      logits = (await model.run({ ids: seq, steer: [{ site: d.site, vector: { dims: x.dims, data: delta } }], cancel: o.cancel })).logits;
    }
    const next = argmaxLast(logits.data, logits.dims[logits.dims.length - 1] ?? vocab);
    out.push(next);
    seq.push(next);
    if (next === o.eos) break;
  }
  return out;
}

// The feature view of captured activations: which features fire on each token, a feature x
// token matrix of the strongest features, and how well the dictionary explains each token
// (relative reconstruction error, L0). A function from captured site tensors to a result, so any
// analysis registry can call it.

import type { ActivationTensor, HookName } from "../types";
import { IntrospectError } from "../types";
import { isTranscoder, read, type Dictionary } from "./dictionary";
import type { FeatureReading } from "./shapes";

export type { FeatureReading } from "./shapes";

export interface ReadingOptions {
  /** Heatmap rows (default 24). */
  rows?: number;
  /** Top features listed per token (default 5). */
  perToken?: number;
}

/** Sites a dictionary needs captured. */
export function sitesFor(d: Dictionary): HookName[] {
  return isTranscoder(d) ? [d.site, d.outSite!] : [d.site];
}

export function readFeatures(d: Dictionary, captures: Map<HookName, ActivationTensor>, o: ReadingOptions = {}): FeatureReading {
  const x = captures.get(d.site);
  if (!x) throw new IntrospectError("bad-input", `The dictionary reads ${d.site}, which was not captured.`);
  const target = d.outSite && isTranscoder(d) ? captures.get(d.outSite) : undefined;
  if (isTranscoder(d) && !target) throw new IntrospectError("bad-input", `The transcoder writes ${d.outSite}, which was not captured.`);
  const r = read(d, x.data, target?.data ?? x.data);
  const T = r.n;
  const max = new Float32Array(d.dSae);
  for (let t = 0; t < T; t++) for (let j = 0; j < d.dSae; j++) max[j] = Math.max(max[j], r.features[t * d.dSae + j]);
  const order = Array.from({ length: d.dSae }, (_, j) => j)
    .filter((j) => max[j] > 0)
    .sort((a, b) => max[b] - max[a]);
  const features = order.slice(0, o.rows ?? 24);
  const matrix = new Float32Array(features.length * T);
  features.forEach((f, i) => {
    for (let t = 0; t < T; t++) matrix[i * T + t] = r.features[t * d.dSae + f];
  });
  const per = o.perToken ?? 5;
  const top = Array.from({ length: T }, (_, t) => {
    const row: Array<{ feature: number; value: number }> = [];
    for (let j = 0; j < d.dSae; j++) {
      const v = r.features[t * d.dSae + j];
      if (v > 0) row.push({ feature: j, value: v });
    }
    return row.sort((a, b) => b.value - a.value).slice(0, per);
  });
  return {
    site: d.site,
    outSite: isTranscoder(d) ? d.outSite : undefined,
    tokens: T,
    features,
    matrix,
    top,
    relError: r.relError,
    l0: r.l0,
    max: Float32Array.from(features, (f) => max[f]),
  };
}

// Expert contrast (the MoTE ranking): how much more often each expert of each layer is routed on a
// positive prompt set than on a baseline set, with a two-proportion z-test; and the effect of
// switching the top-ranked experts off on a metric over a prompt set.
//
// A token counts as routed to an expert when the expert is among the layer's k largest router
// logits (the unmodified model's; `count: "topk"`, MoTE's activation frequency), or only when it is the
// largest (`count: "top1"`, the token's first choice). That is the choice itself for softmax-then-top-k, top-k-then-softmax
// and sparsemixer routers; for sigmoid routers whose selection adds a correction bias it is the
// choice before that bias.
import type { LoadedModel } from "../model/loaded";
import type { CancelToken } from "../types";
import { hookName, IntrospectError, throwIfCancelled } from "../types";
import { expertRouting } from "./routing";
import type { ExpertIntervention } from "./interventions";
import { logSoftmax } from "../generate/readout";

export interface ExpertStat {
  layer: number;
  expert: number;
  /** Share of positive / baseline tokens routed to the expert. */
  positive: number;
  baseline: number;
  diff: number;
  z: number;
  /** Two-sided p-value of the z-test (normal approximation). */
  p: number;
}

export interface ContrastResult {
  /** Every (layer, expert), ranked by `diff` (largest first). */
  ranked: ExpertStat[];
  /** [layers x experts] diff, for a heatmap; rows follow `layers`. */
  layers: number[];
  experts: number;
  heat: Float32Array;
  tokens: { positive: number; baseline: number };
  /** What counted as routed. */
  count?: CountMode;
}

/** Counts, per MoE layer, the tokens routed to each expert over a prompt set. */
export type CountMode = "topk" | "top1";

export async function routedCounts(
  model: LoadedModel,
  prompts: number[][],
  cancel?: CancelToken,
  count: CountMode = "topk",
): Promise<{ layers: number[]; experts: number; counts: Float64Array; tokens: number }> {
  const routings = expertRouting(model.graph, model.map);
  if (routings.length === 0) throw new IntrospectError("bad-input", `${model.info.id} has no mixture-of-experts layers to rank.`);
  const layers = routings.map((r) => r.layer);
  const E = routings[0].experts;
  const k = (layer: number) => routings.find((r) => r.layer === layer)!.topK?.k ?? model.info.expertsPerToken ?? 2;
  const counts = new Float64Array(layers.length * E);
  let tokens = 0;
  for (const ids of prompts) {
    throwIfCancelled(cancel);
    if (ids.length === 0) continue;
    const { captures } = await model.run({ ids, capture: layers.map((l) => hookName(l, "moe.hook_router_logits")), cancel });
    tokens += ids.length;
    layers.forEach((layer, li) => {
      const t = captures.get(hookName(layer, "moe.hook_router_logits"))!;
      const rows = t.data.length / E;
      const kk = count === "top1" ? 1 : Math.min(k(layer), E);
      for (let i = 0; i < rows; i++) {
        const row = t.data.subarray(i * E, (i + 1) * E);
        const order = Array.from({ length: E }, (_, e) => e).sort((a, b) => row[b] - row[a] || a - b);
        for (let j = 0; j < kk; j++) counts[li * E + order[j]]++;
      }
    });
  }
  return { layers, experts: E, counts, tokens };
}

/** The ranking: positive minus baseline routing share per (layer, expert), with its z-test. */
export async function expertContrast(
  model: LoadedModel,
  positive: number[][],
  baseline: number[][],
  opts: { count?: CountMode; cancel?: CancelToken } = {},
): Promise<ContrastResult> {
  if (positive.length === 0 || baseline.length === 0)
    throw new IntrospectError("bad-input", "An expert contrast needs prompts on both sides: at least one + and one - prompt.");
  const a = await routedCounts(model, positive, opts.cancel, opts.count);
  const b = await routedCounts(model, baseline, opts.cancel, opts.count);
  return { ...rankExperts(a.layers, a.experts, a.counts, a.tokens, b.counts, b.tokens), count: opts.count ?? "topk" };
}

/** Pure part of the ranking (unit-tested by hand). */
export function rankExperts(
  layers: number[],
  E: number,
  posCounts: Float64Array,
  nPos: number,
  negCounts: Float64Array,
  nNeg: number,
): ContrastResult {
  const ranked: ExpertStat[] = [];
  const heat = new Float32Array(layers.length * E);
  layers.forEach((layer, li) => {
    for (let e = 0; e < E; e++) {
      const x1 = posCounts[li * E + e];
      const x2 = negCounts[li * E + e];
      const p1 = x1 / nPos;
      const p2 = x2 / nNeg;
      const pool = (x1 + x2) / (nPos + nNeg);
      const se = Math.sqrt(pool * (1 - pool) * (1 / nPos + 1 / nNeg));
      const z = se > 0 ? (p1 - p2) / se : 0;
      heat[li * E + e] = p1 - p2;
      ranked.push({ layer, expert: e, positive: p1, baseline: p2, diff: p1 - p2, z, p: 2 * (1 - normalCdf(Math.abs(z))) });
    }
  });
  ranked.sort((x, y) => y.diff - x.diff || y.z - x.z || x.layer - y.layer || x.expert - y.expert);
  return { ranked, layers, experts: E, heat, tokens: { positive: nPos, baseline: nNeg } };
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(x * x) / 2);
  return x >= 0 ? (1 + y) / 2 : (1 - y) / 2;
}

/** Interventions switching off the first `n` experts of a ranking. */
export function topOff(result: ContrastResult, n: number): ExpertIntervention[] {
  return result.ranked.slice(0, n).map((s) => ({ kind: "off", layer: s.layer, expert: s.expert }));
}

export type ExpertMetric =
  /** Mean log-probability of each prompt's own next tokens (teacher forced). */
  | { kind: "logprob" }
  /** Mean over prompts of the probability, at the last position, of any of these token ids. */
  | { kind: "words"; ids: number[] }
  /** Mean KL(unmodified ‖ modified) of the next-token distributions at every position. */
  | { kind: "kl" };

export interface MetricEffect {
  before: number;
  after: number;
  /** after - before. */
  change: number;
}

/** A metric over a prompt set without and with the interventions. */
export async function metricEffect(
  model: LoadedModel,
  prompts: number[][],
  metric: ExpertMetric,
  experts: ExpertIntervention[],
  cancel?: CancelToken,
): Promise<MetricEffect> {
  const layers = [...new Set(experts.map((x) => x.layer))];
  let before = 0;
  let after = 0;
  let n = 0;
  for (const ids of prompts) {
    throwIfCancelled(cancel);
    if (ids.length < (metric.kind === "logprob" ? 2 : 1)) continue;
    const a = (await model.run({ ids, prepare: { experts: layers }, cancel })).logits;
    const b = (await model.run({ ids, experts, prepare: { experts: layers }, cancel })).logits;
    const V = a.dims[a.dims.length - 1];
    const lsA = (i: number) => logSoftmax(a.data.subarray(i * V, (i + 1) * V));
    const lsB = (i: number) => logSoftmax(b.data.subarray(i * V, (i + 1) * V));
    if (metric.kind === "logprob") {
      let sa = 0;
      let sb = 0;
      for (let i = 0; i + 1 < ids.length; i++) {
        sa += lsA(i)[ids[i + 1]];
        sb += lsB(i)[ids[i + 1]];
      }
      before += sa / (ids.length - 1);
      after += sb / (ids.length - 1);
    } else if (metric.kind === "words") {
      const last = ids.length - 1;
      const pa = lsA(last);
      const pb = lsB(last);
      for (const id of new Set(metric.ids)) {
        before += Math.exp(pa[id]);
        after += Math.exp(pb[id]);
      }
    } else {
      let kl = 0;
      for (let i = 0; i < ids.length; i++) {
        const p = lsA(i);
        const q = lsB(i);
        for (let v = 0; v < V; v++) if (p[v] > -80) kl += Math.exp(p[v]) * (p[v] - q[v]);
      }
      after += kl / ids.length;
    }
    n++;
  }
  if (n === 0)
    throw new IntrospectError("bad-input", "The metric needs at least one prompt (of two tokens or more for log-probabilities).");
  return { before: before / n, after: after / n, change: (after - before) / n };
}

// Every analysis of a probe, registered once: the ProbeResult field it fills (its result type),
// the sites it reads from the activation cache, and the function from that cache to its result;
// the view of the probe panel that draws it is its entry in ANALYSIS_VIEWS (views.ts). probe.ts captures the union of the sites and runs
// the list; assemble.ts runs it on synthetic captures. Per-layer heatmap metrics are one entry
// ("metrics") whose own list is LAYER_METRIC_DEFS in layerMetrics.ts.
import { hookName, type ActivationTensor } from "../types";
import type { ActivationCache, RowRange } from "./cache";
import type { AttentionData, LogitLensData, ProbeResult, ProbeTensor } from "./result";
import { ANALYSIS_VIEWS, type AnalysisField } from "./views";
import { LAYER_METRIC_DEFS, LAYER_METRICS } from "./layerMetrics";
import { topNeurons } from "./neurons";
import { expertUsage, routeTopK } from "./moe";
import { massiveActivations } from "./massive";
import { headPattern } from "./attention";

/** Entries per cell of the logit-lens table. */
export const LENS_K = 5;

/** What a probe asks for beyond the captures: which layer and head to show, how many of what. */
export interface ProbePlan {
  numLayers: number;
  numHeads: number;
  /** Set for mixture-of-experts models. */
  numExperts?: number;
  expertsPerToken: number;
  /** Layer of the neuron view; no neuron view when absent. */
  neuronLayer?: number;
  neuronCount: number;
  /** Layer and head of the attention view, and why it is unavailable when its site is missing. */
  attention?: { layer: number; head: number; reason?: string };
  massiveFactor: number;
  /** Decoded text of a vocabulary id (the logit-lens tokens). */
  decode(id: number): string;
  /** Ids following each selected token (-1 after the last token). */
  nextIds: Int32Array;
}

export type { AnalysisField } from "./views";

export interface Analysis<K extends AnalysisField = AnalysisField> {
  /** The ProbeResult field it fills; its result type is ProbeResult[K]. */
  name: K;
  /** The probe panel's view that draws it (ANALYSIS_VIEWS). */
  view: (typeof ANALYSIS_VIEWS)[K];
  /** Sites it reads (some may be missing from a graph: run then degrades or returns undefined). */
  sites(plan: ProbePlan): string[];
  run(cache: ActivationCache, plan: ProbePlan): ProbeResult[K];
}

const layers = (plan: ProbePlan) => Array.from({ length: plan.numLayers }, (_, l) => l);

const metrics: Analysis<"metrics"> = {
  name: "metrics",
  view: ANALYSIS_VIEWS.metrics,
  sites: (plan) => [...new Set(layers(plan).flatMap((l) => LAYER_METRICS.flatMap((m) => LAYER_METRIC_DEFS[m].sites(l))))],
  run(cache, plan) {
    const n = cache.selected;
    const L = plan.numLayers;
    const out = {} as ProbeResult["metrics"];
    for (const m of LAYER_METRICS) {
      const t: ProbeTensor = { dims: [L, n], data: new Float32Array(L * n) };
      for (let l = 0; l < L; l++) t.data.set(LAYER_METRIC_DEFS[m].compute(cache, l), l * n);
      out[m] = t;
    }
    return out;
  },
};

const logitLens: Analysis<"logitLens"> = {
  name: "logitLens",
  view: ANALYSIS_VIEWS.logitLens,
  sites: () => [],
  run(cache, plan) {
    const L = plan.numLayers;
    const n = cache.selected;
    const ids = new Int32Array(L * n * LENS_K);
    const probs = new Float32Array(L * n * LENS_K);
    for (let l = 0; l < L; l++) {
      const lens = cache.lens?.[l];
      if (!lens) {
        ids.fill(-1, l * n * LENS_K, (l + 1) * n * LENS_K);
        continue;
      }
      // k may be below LENS_K for a tiny vocabulary; pad with -1 / 0 so the layout stays fixed.
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < LENS_K; j++) {
          const dst = (l * n + i) * LENS_K + j;
          ids[dst] = j < lens.k ? lens.ids[i * lens.k + j] : -1;
          probs[dst] = j < lens.k ? lens.probs[i * lens.k + j] : 0;
        }
      }
    }
    const vocab: LogitLensData["vocab"] = {};
    for (const id of ids) if (id >= 0 && !(id in vocab)) vocab[id] = plan.decode(id);
    for (const id of plan.nextIds) if (id >= 0 && !(id in vocab)) vocab[id] = plan.decode(id);
    return { k: LENS_K, ids: { dims: [L, n, LENS_K], data: ids }, probs: { dims: [L, n, LENS_K], data: probs }, vocab };
  },
};

const massive: Analysis<"massive"> = {
  name: "massive",
  view: ANALYSIS_VIEWS.massive,
  sites: (plan) => layers(plan).map((l) => hookName(l, "hook_resid_post")),
  run: (cache, plan) =>
    layers(plan).flatMap((l) => {
      const site = hookName(l, "hook_resid_post");
      return massiveActivations(cache.get(site), plan.massiveFactor).map((m) => ({ layer: l, site, ...m }));
    }),
};

const neurons: Analysis<"neurons"> = {
  name: "neurons",
  view: ANALYSIS_VIEWS.neurons,
  sites: (plan) => (plan.neuronLayer === undefined ? [] : [hookName(plan.neuronLayer, "mlp.hook_post")]),
  run(cache, plan) {
    const t = plan.neuronLayer === undefined ? undefined : cache.at(plan.neuronLayer, "mlp.hook_post");
    if (!t || plan.neuronLayer === undefined) return undefined;
    const top = topNeurons(t, cache.selection, plan.neuronCount);
    return {
      layer: plan.neuronLayer,
      neurons: top.neurons,
      values: { dims: [top.neurons.length, top.tokens], data: top.values },
      dMlp: top.dMlp,
    };
  },
};

const attention: Analysis<"attention"> = {
  name: "attention",
  view: ANALYSIS_VIEWS.attention,
  sites: (plan) => (plan.attention ? [hookName(plan.attention.layer, "attn.hook_pattern")] : []),
  run(cache, plan) {
    const a = plan.attention;
    if (!a) return undefined;
    return buildAttention({ ...a, tensor: cache.at(a.layer, "attn.hook_pattern") }, plan.numHeads, cache.selection);
  },
};

const moe: Analysis<"moe"> = {
  name: "moe",
  view: ANALYSIS_VIEWS.moe,
  sites: (plan) => (plan.numExperts ? layers(plan).map((l) => hookName(l, "moe.hook_router_logits")) : []),
  run(cache, plan) {
    const router = layers(plan).map((l) => cache.at(l, "moe.hook_router_logits"));
    if (!router.length || router.some((r) => !r)) return undefined;
    return buildMoe(router as ActivationTensor[], cache.selection, plan.expertsPerToken);
  },
};

const ENTRIES: { [K in AnalysisField]: Analysis<K> } = { metrics, logitLens, massive, neurons, attention, moe };

/** Every analysis, in the order of ANALYSIS_VIEWS (the probe panel's order of their views). */
export const ANALYSES: readonly Analysis[] = (Object.keys(ANALYSIS_VIEWS) as AnalysisField[]).map((k) => ENTRIES[k] as Analysis);

/** The sites a probe with this plan should capture (those the graph lacks are filtered by the caller). */
export function sitesFor(plan: ProbePlan): string[] {
  return [...new Set(ANALYSES.flatMap((a) => a.sites(plan)))];
}

/** Runs every analysis on the cache; fields whose analysis has nothing to show are left out. */
export function runAnalyses(cache: ActivationCache, plan: ProbePlan): Partial<Pick<ProbeResult, AnalysisField>> {
  const out: Partial<Record<AnalysisField, unknown>> = {};
  for (const a of ANALYSES) {
    const v = a.run(cache, plan);
    if (v !== undefined) out[a.name] = v;
  }
  return out as Partial<Pick<ProbeResult, AnalysisField>>;
}

/** One analysis by its field, typed (the probe's follow-up requests run one on a fresh cache). */
export function analysisOf<K extends AnalysisField>(name: K): Analysis<K> {
  return ANALYSES.find((a) => a.name === name) as unknown as Analysis<K>;
}

export function buildAttention(
  a: { layer: number; head: number; tensor?: ActivationTensor; reason?: string },
  numHeads: number,
  sel: RowRange,
): AttentionData {
  if (!a.tensor) {
    return {
      kind: "unavailable",
      layer: a.layer,
      head: a.head,
      numHeads,
      reason: a.reason ?? "attention patterns are not exposed by this graph",
    };
  }
  const p = headPattern(a.tensor, a.head, sel);
  const heads = a.tensor.dims.length >= 3 ? a.tensor.dims[a.tensor.dims.length - 3] : numHeads;
  return { kind: "pattern", layer: a.layer, head: a.head, numHeads: heads, pattern: p, queryStart: sel.start };
}

function buildMoe(router: ActivationTensor[], sel: RowRange, k: number): ProbeResult["moe"] {
  const L = router.length;
  const n = sel.end - sel.start;
  const E = router[0].dims[router[0].dims.length - 1];
  const kk = Math.min(k, E);
  const experts = new Int32Array(L * n * kk);
  const probs = new Float32Array(L * n * kk);
  const usage = new Float32Array(L * E);
  for (let l = 0; l < L; l++) {
    const r = routeTopK(router[l], sel, kk);
    experts.set(r.experts, l * n * kk);
    probs.set(r.probs, l * n * kk);
    usage.set(expertUsage(r.experts, E), l * E);
  }
  return {
    numExperts: E,
    k: kk,
    experts: { dims: [L, n, kk], data: experts },
    probs: { dims: [L, n, kk], data: probs },
    usage: { dims: [L, E], data: usage },
  };
}

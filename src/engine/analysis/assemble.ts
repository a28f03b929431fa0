// Packs captured tensors into a ProbeResult: the activation cache goes through every analysis of
// registry.ts. Pure: probe.ts runs the model and calls probeResultOf; the tests and the webview
// harness call assembleProbeResult with synthetic tensors, named as fields rather than sites.
import { hookName, type ActivationTensor } from "../types";
import { ActivationCache, type LensLayer, type RowRange } from "./cache";
import type { ProbeResult, ProbeToken } from "./result";
import { nextTokenIds } from "./layerMetrics";
import { runAnalyses, type ProbePlan } from "./registry";

export { LENS_K, buildAttention } from "./registry";

export interface ProbeCaptures {
  model: ProbeResult["model"];
  /** All probed tokens; `selected` is recomputed from `selection`. */
  tokens: Omit<ProbeToken, "selected">[];
  selection: RowRange;
  /** Residual entering layer 0 (the embedding), [T, D]. */
  embed: ActivationTensor;
  /** `blocks.{L}.hook_resid_post` for every layer, [T, D]. */
  residPost: ActivationTensor[];
  /**
   * Logit lens of each layer over the selected tokens (see logitLensLayer; nextTokenIds gives the
   * ids it needs). Reduced per layer as it is computed, so the [tokens, vocab] logits never pile up.
   * Missing (undefined) when the lens could not be built: its metrics are then NaN.
   */
  lens?: LensLayer[];
  /** Decoded text of a vocabulary id, for the logit-lens tokens. */
  decode: (id: number) => string;
  /** `blocks.{L}.mlp.hook_post` of the layer shown in the neuron view. */
  mlpPost?: { layer: number; tensor: ActivationTensor };
  neuronCount?: number;
  /** `blocks.{L}.attn.hook_pattern` of the layer shown, or why there is none. */
  attention?: { layer: number; head: number; tensor?: ActivationTensor; reason?: string };
  /** `blocks.{L}.moe.hook_router_logits` per layer, [T, E]; only for MoE models. */
  routerLogits?: ActivationTensor[];
  expertsPerToken?: number;
  massiveFactor?: number;
  notes?: string[];
}

/** Names the captures as sites in an activation cache and runs the analyses on it. */
export function assembleProbeResult(c: ProbeCaptures): ProbeResult {
  const L = c.residPost.length;
  const ids = c.tokens.map((t) => t.id);
  const cache = new ActivationCache(L, c.selection, ids, c.lens);
  cache.set(hookName(0, "hook_resid_pre"), c.embed);
  c.residPost.forEach((t, l) => cache.set(hookName(l, "hook_resid_post"), t));
  if (c.mlpPost) cache.set(hookName(c.mlpPost.layer, "mlp.hook_post"), c.mlpPost.tensor);
  if (c.attention?.tensor) cache.set(hookName(c.attention.layer, "attn.hook_pattern"), c.attention.tensor);
  c.routerLogits?.forEach((t, l) => cache.set(hookName(l, "moe.hook_router_logits"), t));
  const plan: ProbePlan = {
    numLayers: L,
    numHeads: c.model.numHeads ?? 0,
    numExperts: c.model.numExperts,
    expertsPerToken: c.expertsPerToken ?? 2,
    neuronLayer: c.mlpPost?.layer,
    neuronCount: c.neuronCount ?? 32,
    attention: c.attention && { layer: c.attention.layer, head: c.attention.head, reason: c.attention.reason },
    massiveFactor: c.massiveFactor ?? 100,
    decode: c.decode,
    nextIds: nextTokenIds(ids, c.selection),
  };
  return probeResultOf(cache, plan, c.model, c.tokens, c.notes ?? []);
}

/** The ProbeResult of an activation cache: every registered analysis, in the result's field order. */
export function probeResultOf(
  cache: ActivationCache,
  plan: ProbePlan,
  model: ProbeResult["model"],
  tokens: Omit<ProbeToken, "selected">[],
  notes: string[],
): ProbeResult {
  const sel = cache.selection;
  const { metrics, logitLens, massive, ...views } = runAnalyses(cache, plan);
  return {
    version: 1,
    model,
    tokens: tokens.map((t, i) => ({ ...t, selected: i >= sel.start && i < sel.end })),
    selection: { start: sel.start, end: sel.end },
    layerCount: plan.numLayers,
    metrics: metrics!,
    nextTokenIds: plan.nextIds,
    logitLens: logitLens!,
    massive: massive!,
    notes,
    ...views,
  };
}

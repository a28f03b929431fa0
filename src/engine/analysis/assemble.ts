// Packs captured tensors into a ProbeResult. Pure: probe.ts runs the model and calls this, the
// tests and the webview harness call it with synthetic tensors.
import type { ActivationTensor } from "../types";
import type { AttentionData, LayerMetricName, MassiveActivation, ProbeResult, ProbeTensor, ProbeToken } from "./result";
import { activationShift, nextTokenIds, residualNorms, type LensLayer, type RowRange } from "./layerMetrics";
import { topNeurons } from "./neurons";
import { expertUsage, routeTopK } from "./moe";
import { massiveActivations } from "./massive";
import { headPattern } from "./attention";

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

/** Entries per cell of the logit-lens table. */
export const LENS_K = 5;

export function assembleProbeResult(c: ProbeCaptures): ProbeResult {
  const L = c.residPost.length;
  const sel = c.selection;
  const n = sel.end - sel.start;
  if (n <= 0) throw new Error("the selection holds no tokens");
  if (sel.start < 0 || sel.end > c.tokens.length) throw new Error("the selection is outside the probed tokens");
  const metric = (): ProbeTensor => ({ dims: [L, n], data: new Float32Array(L * n) });
  const metrics: Record<LayerMetricName, ProbeTensor> = {
    residNorm: metric(),
    shift: metric(),
    nextTokenProb: metric(),
    entropy: metric(),
  };
  const nextIds = nextTokenIds(
    c.tokens.map((t) => t.id),
    sel,
  );
  const lensIds = new Int32Array(L * n * LENS_K);
  const lensProbs = new Float32Array(L * n * LENS_K);
  const vocab: Record<number, string> = {};
  const massive: MassiveActivation[] = [];
  for (let l = 0; l < L; l++) {
    metrics.residNorm.data.set(residualNorms(c.residPost[l], sel), l * n);
    metrics.shift.data.set(activationShift(l === 0 ? c.embed : c.residPost[l - 1], c.residPost[l], sel), l * n);
    const lens = c.lens?.[l];
    if (!lens) {
      metrics.nextTokenProb.data.fill(NaN, l * n, (l + 1) * n);
      metrics.entropy.data.fill(NaN, l * n, (l + 1) * n);
      lensIds.fill(-1, l * n * LENS_K, (l + 1) * n * LENS_K);
    } else {
      if (lens.nextProb.length !== n) throw new Error(`logit lens of layer ${l} covers ${lens.nextProb.length} tokens, not ${n}`);
      metrics.nextTokenProb.data.set(lens.nextProb, l * n);
      metrics.entropy.data.set(lens.entropy, l * n);
      // k may be below LENS_K for a tiny vocabulary; pad with -1 / 0 so the layout stays fixed.
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < LENS_K; j++) {
          const dst = (l * n + i) * LENS_K + j;
          lensIds[dst] = j < lens.k ? lens.ids[i * lens.k + j] : -1;
          lensProbs[dst] = j < lens.k ? lens.probs[i * lens.k + j] : 0;
        }
      }
    }
    for (const m of massiveActivations(c.residPost[l], c.massiveFactor ?? 100)) {
      massive.push({ layer: l, site: `blocks.${l}.hook_resid_post`, ...m });
    }
  }
  for (const id of lensIds) if (id >= 0 && !(id in vocab)) vocab[id] = c.decode(id);
  for (const id of nextIds) if (id >= 0 && !(id in vocab)) vocab[id] = c.decode(id);

  const result: ProbeResult = {
    version: 1,
    model: c.model,
    tokens: c.tokens.map((t, i) => ({ ...t, selected: i >= sel.start && i < sel.end })),
    selection: { start: sel.start, end: sel.end },
    layerCount: L,
    metrics,
    nextTokenIds: nextIds,
    logitLens: { k: LENS_K, ids: { dims: [L, n, LENS_K], data: lensIds }, probs: { dims: [L, n, LENS_K], data: lensProbs }, vocab },
    massive,
    notes: c.notes ?? [],
  };
  if (c.mlpPost) {
    const top = topNeurons(c.mlpPost.tensor, sel, c.neuronCount ?? 32);
    result.neurons = {
      layer: c.mlpPost.layer,
      neurons: top.neurons,
      values: { dims: [top.neurons.length, top.tokens], data: top.values },
      dMlp: top.dMlp,
    };
  }
  if (c.attention) result.attention = buildAttention(c.attention, c.model.numHeads ?? 0, sel);
  if (c.routerLogits && c.routerLogits.length) result.moe = buildMoe(c.routerLogits, sel, c.expertsPerToken ?? 2);
  return result;
}

export function buildAttention(a: NonNullable<ProbeCaptures["attention"]>, numHeads: number, sel: RowRange): AttentionData {
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
  return { kind: "pattern", layer: a.layer, head: a.head, numHeads: heads, pattern: p };
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

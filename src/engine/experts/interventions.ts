// Expert interventions: what a run asks for, checked against the model's routing, and turned into the
// feeds of the edited graph's expert inputs (one [rows, experts] addition to the router logits and
// one K per layer). Every kind acts on the router logits before the gate, so the architecture's own
// routing (softmax then top-k, top-k then softmax, sigmoid with a correction bias, sparsemixer)
// renormalises the weights; shared experts never read these logits and stay as they are.
import type * as ort from "onnxruntime-node";
import type { ArchMap } from "../arch/archMap";
import type { GraphIndex } from "../onnx/graph";
import { IntrospectError } from "../types";
import { float32Tensor, int64Tensor } from "../model/tensors";
import { expertRouting, routingOf, type LayerRouting } from "./routing";
import { expertAddInput, expertKInput } from "./edit";
import type { ExpertIntervention } from "./types";

export type { ExpertIntervention } from "./types";

/** Added to a forced expert's router logit: it then tops every token's ranking (softmax gives it
 * all the weight; a sigmoid gives it a score of 1). */
export const FORCE_LOGIT = 1e4;

/** Checks every intervention against the model; throws one sentence for the first that does not fit. */
export function checkInterventions(g: GraphIndex, map: ArchMap, modelId: string, list: ExpertIntervention[]): void {
  for (const iv of list) {
    const r = routingOf(g, map, iv.layer, modelId);
    const E = r.experts;
    if ((iv.kind === "off" || iv.kind === "force") && !(Number.isInteger(iv.expert) && iv.expert >= 0 && iv.expert < E))
      throw new IntrospectError(
        "bad-input",
        `Expert ${iv.expert} does not exist in layer ${iv.layer} of ${modelId}: it has experts 0..${E - 1}.`,
      );
    if (iv.kind === "bias") {
      if (iv.values.length !== E)
        throw new IntrospectError(
          "bad-input",
          `A router bias for layer ${iv.layer} of ${modelId} needs ${E} values (one per expert), not ${iv.values.length}.`,
        );
      if (iv.values.some((v) => !Number.isFinite(v)) || !Number.isFinite(iv.scale ?? 1))
        throw new IntrospectError("bad-input", `A router bias must be finite numbers (use "off" to switch an expert off).`);
    }
    if (iv.kind === "force" && iv.positions?.some((p) => !Number.isInteger(p) || p < 0))
      throw new IntrospectError("bad-input", `Forced positions are token positions from 0: ${iv.positions.join(", ")} is not.`);
    if (iv.kind === "topk") {
      if (r.kFixed) throw new IntrospectError("unsupported-model", `Top-k cannot be changed in ${modelId}: ${r.kFixed}.`);
      if (!(Number.isInteger(iv.k) && iv.k >= 1 && iv.k <= E))
        throw new IntrospectError(
          "bad-input",
          `Top-k for layer ${iv.layer} must be a whole number from 1 to ${E} (its expert count), not ${iv.k}.`,
        );
    }
  }
}

/**
 * Feeds of the expert inputs for one pass over `batch` rows of `tokens` new tokens after `past`
 * cached ones (positions past..past+tokens-1). Layers prepared but without interventions get a zero
 * addition and their own K, so the same edited session serves every setting.
 */
export function expertFeeds(
  routings: LayerRouting[],
  list: ExpertIntervention[],
  batch: number,
  tokens: number,
  past = 0,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const r of routings) {
    const E = r.experts;
    const mine = list.filter((iv) => iv.layer === r.layer);
    const perToken = mine.some((iv) => iv.kind === "force");
    const rows = perToken ? batch * tokens : 1;
    const base = new Float32Array(E);
    for (const iv of mine) {
      if (iv.kind === "off") base[iv.expert] = -Infinity;
      else if (iv.kind === "bias") for (let e = 0; e < E; e++) base[e] += iv.values[e] * (iv.scale ?? 1);
    }
    const add = new Float32Array(rows * E);
    for (let i = 0; i < rows; i++) add.set(base, i * E);
    for (const iv of mine) {
      if (iv.kind !== "force") continue;
      for (let b = 0; b < batch; b++)
        for (let t = 0; t < tokens; t++) {
          const pos = past + t;
          if (iv.positions && !iv.positions.includes(pos)) continue;
          add[(b * tokens + t) * E + iv.expert] += FORCE_LOGIT;
        }
    }
    feeds[expertAddInput(r.layer)] = float32Tensor(add, [rows, E]);
    if (r.topK) {
      const k = [...mine].reverse().find((iv) => iv.kind === "topk");
      feeds[expertKInput(r.layer)] = int64Tensor([k && k.kind === "topk" ? k.k : r.topK.k], [1]);
    }
  }
  return feeds;
}

/**
 * After a failed pass that changed k: exporters that fix the number of experts per token in the
 * graph's shapes (the dynamo exporter writes the [tokens * k, ...] sizes as constants) cannot run
 * another k. The layers are marked so later requests are refused before any pass; returns the sentence.
 */
export function topKRefusal(g: GraphIndex, map: ArchMap, modelId: string, list: ExpertIntervention[]): IntrospectError | undefined {
  const changed = list.filter((iv) => iv.kind === "topk" && iv.k !== routingOf(g, map, iv.layer, modelId).topK?.k);
  if (changed.length === 0) return undefined;
  const why = `the graph fixes the number of experts per token in its shapes (as dynamo exports do): onnxruntime cannot run it with another k. A TorchScript export of the same model (torch.onnx.export(..., dynamo=False)) takes any k`;
  for (const r of expertRouting(g, map)) if (r.topK) r.kFixed = why;
  return new IntrospectError("unsupported-model", `Top-k cannot be changed in ${modelId}: ${why}.`);
}

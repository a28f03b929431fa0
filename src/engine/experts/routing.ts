// How each mixture-of-experts layer routes, read off the graph from its router logits
// (`blocks.L.moe.hook_router_logits`, found by the architecture map): the gate that reads the logits,
// and the TopK that picks the experts, whose K an edit can turn into an input.
import type { ArchMap } from "../arch/archMap";
import { PASS_THROUGH } from "../arch/patterns";
import type { GraphIndex } from "../onnx/graph";
import { hookName, IntrospectError } from "../types";

export type GateKind =
  | "softmax-then-topk" // Mixtral, Qwen-MoE, OLMoE: softmax over all experts, top-k, renormalised
  | "topk-then-softmax" // GPT-OSS: top-k of the logits, softmax over the chosen
  | "sigmoid" // DeepSeek-V3 style: sigmoid scores, selection with a correction bias
  | "max-selection" // PhiMoE's sparsemixer: experts picked by ArgMax / ReduceMax steps
  | "fused"; // a fused MoE op (onnxruntime MoE / QMoE): routing inside the op

export interface LayerRouting {
  layer: number;
  /** Router logits tensor (the map's moe.hook_router_logits). */
  logits: string;
  experts: number;
  gate: GateKind;
  /** The TopK node choosing the experts and its K tensor, when the choice is a TopK. */
  topK?: { node: number; kTensor: string; k: number };
  /** Why the number of experts per token cannot change (absent when it can). */
  kFixed?: string;
}

const cache = new WeakMap<ArchMap, LayerRouting[]>();

/** Every MoE layer's routing, in layer order. */
export function expertRouting(g: GraphIndex, map: ArchMap): LayerRouting[] {
  const hit = cache.get(map);
  if (hit) return hit;
  const out: LayerRouting[] = [];
  for (let layer = 0; layer < map.numLayers; layer++) {
    const ref = map.sites.get(hookName(layer, "moe.hook_router_logits"));
    if (!ref || !map.numExperts) continue;
    out.push(layerRouting(g, map, layer, ref.tensor, map.numExperts));
  }
  cache.set(map, out);
  return out;
}

/** The routing of one layer, or a sentence saying it has none. */
export function routingOf(g: GraphIndex, map: ArchMap, layer: number, modelId: string): LayerRouting {
  const all = expertRouting(g, map);
  const r = all.find((x) => x.layer === layer);
  if (r) return r;
  if (all.length === 0)
    throw new IntrospectError("bad-input", `${modelId} has no mixture-of-experts layers: there are no experts to act on.`);
  throw new IntrospectError(
    "bad-input",
    `Layer ${layer} of ${modelId} has no router (its MLP is dense or the layer does not exist); its MoE layers are ${all.map((x) => x.layer).join(", ")}.`,
  );
}

function layerRouting(g: GraphIndex, map: ArchMap, layer: number, logits: string, experts: number): LayerRouting {
  // Nodes reachable from the logits within the branch, breadth first, in a few steps.
  const reach: number[] = [];
  const seen = new Set<string>([logits]);
  let frontier = [logits];
  for (let depth = 0; depth < 14 && frontier.length; depth++) {
    const next: string[] = [];
    for (const t of frontier)
      for (const u of g.users(t)) {
        if (reach.includes(u.node)) continue;
        reach.push(u.node);
        const n = g.node(u.node);
        // Stop at the experts' own products: the routing lies before them.
        if (n.opType === "MatMul" || n.opType === "Einsum" || n.opType === "Gemm") continue;
        for (const o of n.output)
          if (o && !seen.has(o)) {
            seen.add(o);
            next.push(o);
          }
      }
    frontier = next;
  }
  const ops = reach.map((k) => g.node(k));
  const first = firstGate(g, logits);
  let gate: GateKind;
  if (first === "MoE" || first === "QMoE") gate = "fused";
  else if (first === "TopK") gate = "topk-then-softmax";
  else if (first === "Sigmoid") gate = "sigmoid";
  else if (first === "Softmax") gate = "softmax-then-topk";
  else gate = "max-selection";
  // The expert choice: the last TopK (in graph order) whose indices are used.
  const topks = reach.filter((k) => g.node(k).opType === "TopK" && g.users(g.node(k).output[1] ?? "").length > 0).sort((a, b) => a - b);
  const chosen = topks[topks.length - 1];
  const r: LayerRouting = { layer, logits, experts, gate };
  if (gate === "fused") {
    r.kFixed = `layer ${layer} routes inside a fused ${first} op, whose k is an attribute of the op: the number of experts per token cannot change per call`;
  } else if (chosen === undefined) {
    r.gate = gate === "softmax-then-topk" || gate === "sigmoid" ? gate : "max-selection";
    const how = ops.some((n) => n.opType === "ArgMax")
      ? "by ArgMax steps (a fixed number of experts, as PhiMoE's sparsemixer)"
      : "without a TopK";
    r.kFixed = `layer ${layer} picks its experts ${how}: there is no top-k to change`;
  } else {
    const n = g.node(chosen);
    const k = g.constInts(n.input[1])?.[0] ?? map.expertsPerToken;
    if (!k) r.kFixed = `layer ${layer}'s TopK has a K that is not a constant: the number of experts per token is unknown`;
    else r.topK = { node: chosen, kTensor: n.input[1], k };
    if (gate === "max-selection") r.gate = "softmax-then-topk";
  }
  return r;
}

/** The first op reading the logits that is not a reshape or cast. */
function firstGate(g: GraphIndex, t: string): string {
  for (let i = 0; i < 6; i++) {
    const us = g.users(t).map((u) => g.node(u.node));
    const real = us.find((n) => !PASS_THROUGH.has(n.opType) && n.opType !== "Shape" && n.opType !== "Size");
    if (real) return real.opType;
    const pass = us.find((n) => PASS_THROUGH.has(n.opType));
    if (!pass) return "";
    t = pass.output[0];
  }
  return "";
}

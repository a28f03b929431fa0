// Architecture map: finds the residual stream and each layer's activation sites from graph topology.
//
// The walk: start at the token-embedding Gather (a 2-D weight indexed by input_ids), then repeatedly
// take the consumer of the current stream tensor R that adds R to something computed from R: a plain
// `Add(R, branch(R))` or a fused `Skip*LayerNormalization(R, branch)` (whose output 3 is the sum).
// Each such step is classified by what its branch contains (attention, MoE router, plain MLP) and
// steps are grouped into layers. Names and metadata are only used to cross-check and label.
// See ARCHITECTURE.md "Engine: architecture map" for how to teach it a new exporter's pattern.
import type { HookName } from "../types";
import type { GraphIndex } from "../onnx/graph";
import { elemType, shapeOf } from "../onnx/modelFile";
import {
  FUSED_ATTENTION,
  SKIP_NORMS,
  QUANT_OPS,
  PACKED_MATMULS,
  packedSize,
  branchProjection,
  projectionInput,
  projectionNode,
} from "./patterns";
import type { ArchMap, ResidualStep, SiteRef } from "./mapTypes";
import { classifySteps, findEmbedding, noLayers, walkResidualChain } from "./walk";
import { layerSites } from "./layerSites";

export type { ArchMap, ResidualStep, SiteRef, StepKind } from "./mapTypes";
export { PATTERNS_TRIED } from "./walk";

export function buildArchMap(g: GraphIndex, config: Record<string, unknown> = {}): ArchMap {
  const notes: string[] = [];
  const nodes = g.nodes;
  const logitsOutput = g.m.outputs.find((o) => o.name === "logits")?.name;
  if (!logitsOutput) throw noLayers("the graph has no output named logits");
  if (!g.inputNames.has("input_ids")) throw noLayers("the graph has no input named input_ids");

  // 1. Token embedding.
  const { node: embedNode, rows: embedRows, output: embedOutput, dims: embedDims, quantized } = findEmbedding(g);
  // 2. Residual chain.
  const { steps, addSumOutputs, stream, end: R } = walkResidualChain(g, embedNode, embedOutput, quantized);
  // 3. Classify each step by its branch.
  const { branchNodes, fusedAttention } = classifySteps(g, steps, stream);
  // 4. Group into layers: attention step then MLP/MoE step.
  const { sites, numLayers, open, postNorms, dMlp, ...experts } = layerSites(g, steps, stream, branchNodes);
  let { numExperts, expertsPerToken } = experts;
  if (fusedAttention) notes.push(`attention is fused (${fusedAttention}): attention patterns are not available`);
  if (open) notes.push("the last layer has no MLP step");
  if (postNorms)
    notes.push(
      "attention/MLP outputs are normalised again before the residual add: hook_attn_out / hook_mlp_out are taken before those post-norms",
    );

  // 5. Final norm and unembedding.
  const un = projectionNode(g, logitsOutput);
  if (un === undefined) throw noLayers("the logits output is not produced by a MatMul / Gemm");
  const finalNormOut = projectionInput(g, un);
  const lastFused = steps[steps.length - 1].fused ? nodes[steps[steps.length - 1].node] : undefined;
  if (lastFused && lastFused.output[0] === finalNormOut) {
    // The final norm is the fused node of the last step: its sum output is the last resid_post.
  } else if (!g.dependsOn(finalNormOut, R)) {
    throw noLayers("the unembedding does not read the end of the residual chain");
  }
  sites.set("ln_final.hook_normalized", { hook: "ln_final.hook_normalized", tensor: finalNormOut });

  // 6. Sizes, dtype, style.
  const unW = g.weightDims(nodes[un].input[1]);
  const logitsShape = shapeOf(g.m.outputs.find((o) => o.name === logitsOutput)!);
  const lastDim = logitsShape?.[logitsShape.length - 1];
  const vocabSize = typeof lastDim === "number" ? lastDim : unW ? Math.max(...unW) : embedRows;
  // The residual width is read off the graph (a branch projection's output), never taken from config.json:
  // the self-check compares the two.
  const dModel = residualWidth(g, steps) ?? (unW ? Math.min(...unW) : embedDims[1]);
  const embedInit = g.m.initializers.get(nodes[embedNode].input[0]);
  const logitsType = elemType(g.m.outputs.find((o) => o.name === logitsOutput)!);
  const residDtype = embedInit && [1, 10, 16].includes(embedInit.dataType) ? embedInit.dataType : logitsType || 1;
  const ops = new Set(nodes.map((n) => n.opType));
  const fused = [...ops].some((o) => SKIP_NORMS.has(o) || FUSED_ATTENTION.has(o) || PACKED_MATMULS.has(o) || o === "MoE");
  const dynamo = nodes.some((n) => n.metadataProps.some((p) => p.key.startsWith("pkg.torch.onnx") || p.key === "namespace"));
  let exportStyle = fused ? "ort-fused" : dynamo ? "dynamo" : nodes.some((n) => n.name.startsWith("/")) ? "torchscript" : "onnx";
  if ([...ops].some((o) => QUANT_OPS.has(o))) exportStyle += "+quantized";
  if (residDtype === 10) exportStyle += "+fp16";
  if (steps.some((s) => s.kind === "moe" || s.mlpMoe))
    numExperts = numExperts ?? (Number(config.num_local_experts ?? config.num_experts ?? 0) || undefined);
  expertsPerToken = expertsPerToken ?? (Number(config.num_experts_per_tok ?? 0) || undefined);
  checkNames(g, sites, notes);
  return {
    sites,
    numLayers,
    steps,
    embedOutput,
    finalResid: R,
    finalNormOut,
    unembedNode: un,
    logitsOutput,
    addSumOutputs,
    dModel,
    vocabSize,
    dMlp,
    numExperts,
    expertsPerToken,
    residDtype,
    exportStyle,
    notes,
  };
}

/** Output width of the first branch projection that has a readable weight (the stream's width). */
function residualWidth(g: GraphIndex, steps: ResidualStep[]): number | undefined {
  for (const s of steps) {
    for (const b of [s.branch, s.attnBranch, s.mlpBranch, ...(s.parts ?? [])]) {
      if (!b) continue;
      const pn = projectionNode(g, branchProjection(g, b)[0]);
      if (pn === undefined) continue;
      const n = g.node(pn);
      if (PACKED_MATMULS.has(n.opType)) return packedSize(n, "N");
      const wd = g.weightDims(n.input[1]);
      if (!wd || wd.length !== 2) continue;
      const transB = n.opType === "Gemm" && Number(n.attribute.find((a) => a.name === "transB")?.i ?? 0) === 1;
      return transB ? wd[0] : wd[1];
    }
  }
  return undefined;
}

/** Cross-checks layer numbers found by topology against module paths in names or metadata. */
function checkNames(g: GraphIndex, sites: Map<HookName, SiteRef>, notes: string[]): void {
  let mismatches = 0;
  for (const [hook, ref] of sites) {
    const m = /^blocks\.(\d+)\.hook_(attn_out|mlp_out)$/.exec(hook);
    if (!m) continue;
    const p = g.producerNode(ref.tensor);
    if (!p) continue;
    const scope = p.metadataProps.find((x) => x.key === "pkg.torch.onnx.name_scopes" || x.key === "namespace")?.value ?? p.name;
    const found = /(?:layers|h|blocks|layer)[./_](\d+)/.exec(scope);
    if (found && Number(found[1]) !== Number(m[1])) mismatches++;
  }
  if (mismatches) notes.push(`${mismatches} sites have module names with a different layer number than the topology found`);
}

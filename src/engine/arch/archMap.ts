// Architecture map: finds the residual stream and each layer's activation sites from graph topology.
//
// The walk: start at the token-embedding Gather (a 2-D weight indexed by input_ids), then repeatedly
// take the consumer of the current stream tensor R that adds R to something computed from R: a plain
// `Add(R, branch(R))` or a fused `Skip*LayerNormalization(R, branch)` (whose output 3 is the sum).
// Each such step is classified by what its branch contains (attention, MoE router, plain MLP) and
// steps are grouped into layers. Names and metadata are only used to cross-check and label.
// See ARCHITECTURE.md "Engine: architecture map" for how to teach it a new exporter's pattern.
import type { HookName } from "../types";
import { IntrospectError, hookName } from "../types";
import { GraphIndex } from "../onnx/graph";
import { elemType, shapeOf } from "../onnx/modelFile";
import {
  FUSED_ATTENTION,
  SKIP_NORMS,
  STREAM_VIEWS,
  QUANT_OPS,
  branchProjection,
  castKeepsType,
  attentionSoftmax,
  appliedPattern,
  expertWeights,
  routerProjection,
  projectionInput,
  projectionNode,
} from "./patterns";

export interface SiteRef {
  hook: HookName;
  /** Tensor name in the graph (synthetic `introspect/...` names are created by the base edit). */
  tensor: string;
  /** When set, the tensor is output 3 of this fused Skip*LayerNormalization node (index): steer and
   * patch through its skip input so the normalised output sees the change too. */
  fusedSkipNode?: number;
}

export type StepKind = "attn" | "mlp" | "moe" | "parallel";

export interface ResidualStep {
  kind: StepKind;
  /** Stream tensor going in, branch output, stream tensor coming out. */
  input: string;
  branch: string;
  output: string;
  /** Node index of the Add or Skip*LayerNormalization. */
  node: number;
  fused: boolean;
  /** Parallel blocks written as (x + a(x)) + b(x): the two branches, each added on its own. */
  parts?: [string, string];
  /** Parallel blocks only: the attention and MLP parts of the branch. */
  attnBranch?: string;
  mlpBranch?: string;
}

export interface ArchMap {
  sites: Map<HookName, SiteRef>;
  numLayers: number;
  steps: ResidualStep[];
  embedOutput: string;
  /** Stream tensor that enters the final norm (resid_post of the last layer). */
  finalResid: string;
  /** Output of the final norm that enters the unembedding. */
  finalNormOut: string;
  unembedNode: number;
  logitsOutput: string;
  /** Fused norms whose optional sum output (3) is absent: the base edit adds it under this name. */
  addSumOutputs: Array<{ node: number; name: string }>;
  dModel: number;
  vocabSize: number;
  dMlp?: number;
  numExperts?: number;
  expertsPerToken?: number;
  /** TensorProto data type of the residual stream (1 float, 10 float16, 16 bfloat16). */
  residDtype: number;
  exportStyle: string;
  notes: string[];
}

export const PATTERNS_TRIED = [
  "token embedding: Gather or GatherBlockQuantized of a 2-D weight by input_ids",
  "residual step: Add(stream, branch(stream))",
  "residual step: SkipLayerNormalization / SkipSimplifiedLayerNormalization (output 3 = sum)",
  "unembedding: MatMul / Gemm / MatMulNBits producing the logits output",
];

function noLayers(detail: string): IntrospectError {
  return new IntrospectError(
    "no-layers-found",
    `No transformer layer structure was found (${detail}). Patterns tried: ${PATTERNS_TRIED.join("; ")}. ` +
      "Introspect supports decoder-only language models exported to ONNX (Optimum, torch.onnx, onnxruntime-genai).",
  );
}

export function buildArchMap(g: GraphIndex, config: Record<string, unknown> = {}): ArchMap {
  const notes: string[] = [];
  const nodes = g.nodes;
  const logitsOutput = g.m.outputs.find((o) => o.name === "logits")?.name;
  if (!logitsOutput) throw noLayers("the graph has no output named logits");
  if (!g.inputNames.has("input_ids")) throw noLayers("the graph has no input named input_ids");

  // 1. Token embedding.
  let embedNode = -1;
  let embedRows = 0;
  nodes.forEach((n, i) => {
    if (n.opType !== "Gather" && n.opType !== "GatherBlockQuantized") return;
    if (!g.dependsOn(n.input[1], "input_ids")) return;
    const d = g.weightDims(n.input[0]);
    if (!d || d.length !== 2 || !g.isConst(n.input[0])) return;
    if (d[0] > embedRows) {
      embedRows = d[0];
      embedNode = i;
    }
  });
  if (embedNode < 0) throw noLayers("no token-embedding Gather indexed by input_ids");
  const embedOutput = nodes[embedNode].output[0];
  const embedDims = g.weightDims(nodes[embedNode].input[0])!;

  // 2. Residual chain.
  const embedInit0 = g.m.initializers.get(nodes[embedNode].input[0]);
  const map0 = { residType: embedInit0 && [1, 10, 16].includes(embedInit0.dataType) ? embedInit0.dataType : 0 };
  const steps: ResidualStep[] = [];
  const addSumOutputs: ArchMap["addSumOutputs"] = [];
  const stream = new Set<string>([embedOutput]);
  let R = embedOutput;
  for (let guard = 0; guard < 10000; guard++) {
    let next: { step?: ResidualStep; pre?: string; merged?: boolean } | undefined;
    let embedNorm: string | undefined;
    // Tracing records `x.to(float32)` on a float32 tensor as a Cast whose output then stands for x
    // everywhere (HF norms do this), so the residual Add may read an alias of R.
    const aliases = [R];
    for (let i = 0; i < aliases.length && i < 16; i++) {
      for (const u of g.users(aliases[i])) {
        const n = nodes[u.node];
        const alias =
          n.opType === "Identity" ||
          (n.opType === "Cast" && castKeepsType(n, map0.residType)) ||
          (STREAM_VIEWS.has(n.opType) && u.slot === 0);
        if (alias && n.output[0]) aliases.push(n.output[0]);
      }
    }
    const uses = aliases.flatMap((a) => g.users(a));
    for (const u of uses) {
      const n = nodes[u.node];
      if (n.opType === "Add" && n.input.length === 2) {
        const other = n.input[1 - u.slot];
        if (aliases.includes(other)) continue;
        if (g.isConst(other)) {
          if (steps.length === 0) next = next ?? { pre: n.output[0] };
          continue;
        }
        if (g.dependsOn(other, R, new Set([...stream].filter((s) => s !== R)))) {
          next = { step: { kind: "mlp", input: R, branch: other, output: n.output[0], node: u.node, fused: false } };
          break;
        }
        // (x + a(x)) + b(x): the second branch reads the step's input, not its output: one parallel step.
        const last = steps[steps.length - 1];
        if (
          last &&
          last.output === R &&
          !last.parts &&
          g.dependsOn(other, last.input, new Set([...stream].filter((s) => s !== last.input)))
        ) {
          last.parts = [last.branch, other];
          last.output = n.output[0];
          last.node = u.node;
          next = { merged: true };
          break;
        }
        if (steps.length === 0) next = next ?? { pre: n.output[0] }; // e.g. position embeddings
      } else if (SKIP_NORMS.has(n.opType) && u.slot <= 1) {
        const other = n.input[1 - u.slot];
        let out = n.output[3];
        if (!out) {
          out = `introspect/sum/${u.node}`;
          addSumOutputs.push({ node: u.node, name: out });
        }
        next = { step: { kind: "mlp", input: R, branch: other, output: out, node: u.node, fused: true } };
        break;
      } else if ((n.opType === "DequantizeLinear" || n.opType === "Cast") && steps.length === 0 && u.slot === 0) {
        next = next ?? { pre: n.output[0] }; // quantised embedding table
      } else if (n.opType === "Mul" && steps.length === 0 && n.input.some((x) => x !== R && g.isConst(x))) {
        next = next ?? { pre: n.output[0] }; // embedding scale (Gemma)
      } else if (steps.length === 0 && u.slot === 0 && n.opType === "LayerNormalization") {
        embedNorm = embedNorm ?? n.output[0]; // embedding layer norm (BLOOM): used when no residual add reads R
      }
    }
    if (!next && embedNorm && steps.length === 0) next = { pre: embedNorm };
    embedNorm = undefined;
    if (!next) break;
    if (next.step) steps.push(next.step);
    R = next.step ? next.step.output : next.merged ? steps[steps.length - 1].output : next.pre!;
    for (const a of aliases) stream.add(a);
    stream.add(R);
  }
  if (steps.length === 0) throw noLayers("no residual Add or Skip*LayerNormalization after the embedding");

  // 3. Classify each step by its branch.
  let fusedAttention = "";
  // A fused norm's normalised output is where a branch starts: walking past it would enter the previous branch.
  const branchStop = new Set([...stream, ...steps.filter((s) => s.fused).flatMap((s) => nodes[s.node].output.filter(Boolean))]);
  const branchNodes = steps.map((s) => g.between(s.branch, branchStop));
  const kindOf = (set: Set<number>): StepKind => {
    let attn = false;
    let moe = false;
    for (const k of set) {
      const n = nodes[k];
      if (FUSED_ATTENTION.has(n.opType)) {
        attn = true;
        fusedAttention = n.opType;
      }
      if (n.input.some((x) => x.startsWith("past_key"))) attn = true;
      if (n.output.some((x) => x.startsWith("present"))) attn = true;
      if (n.opType === "Softmax" && attentionSoftmax(g, k, set)) attn = true;
      if (n.opType === "TopK" || n.opType === "MoE" || n.opType === "QMoE") moe = true;
    }
    if (!attn && !moe && expertWeights(g, set) !== undefined && routerProjection(g, set) !== undefined) moe = true;
    return attn ? "attn" : moe ? "moe" : "mlp";
  };
  steps.forEach((s, i) => {
    s.kind = kindOf(branchNodes[i]);
    // Parallel blocks (GPT-NeoX, GPT-J, Phi-2): x + (attn(ln1 x) + mlp(ln2 x)) in one residual step.
    const p = g.producerNode(s.branch);
    if (s.parts) branchNodes[i] = new Set([...branchNodes[i], ...g.between(s.parts[1], branchStop)]);
    if (s.parts) s.kind = kindOf(branchNodes[i]);
    const pair = s.parts ?? (p?.opType === "Add" && p.input.length === 2 && p.input.every((x) => !g.isConst(x)) ? p.input : undefined);
    if (s.kind === "attn" && pair) {
      const [a, b] = pair;
      const ka = kindOf(g.between(a, branchStop));
      const kb = kindOf(g.between(b, branchStop));
      if ((ka === "attn") !== (kb === "attn")) {
        s.kind = "parallel";
        s.attnBranch = ka === "attn" ? a : b;
        s.mlpBranch = ka === "attn" ? b : a;
        branchNodes[i] = g.between(s.attnBranch, branchStop);
      }
    }
  });

  // 4. Group into layers: attention step then MLP/MoE step.
  const sites = new Map<HookName, SiteRef>();
  const site = (layer: number, kind: Parameters<typeof hookName>[1], tensor: string, fusedSkipNode?: number) =>
    sites.set(hookName(layer, kind), { hook: hookName(layer, kind), tensor, fusedSkipNode });
  const fusedNode = (s: ResidualStep) => (s.fused ? s.node : undefined);
  const producerFused = (t: string) => steps.find((s) => s.output === t && s.fused)?.node;
  let layer = -1;
  let open = false; // current layer has attention but no MLP yet
  let dMlp: number | undefined;
  let numExperts: number | undefined;
  let expertsPerToken: number | undefined;
  const mlpSites = (layer: number, branch: string) => {
    const pn = projectionNode(g, branch);
    if (pn === undefined) return;
    const post = projectionInput(g, pn);
    if (!stream.has(post)) site(layer, "mlp.hook_post", post);
    const pnode = nodes[pn];
    const wd = g.weightDims(pnode.input[1]);
    if (pnode.opType === "MatMulNBits") dMlp = Number(pnode.attribute.find((a) => a.name === "K")?.i ?? 0) || dMlp;
    else if (wd && wd.length === 2) {
      const transB = pnode.opType === "Gemm" && Number(pnode.attribute.find((a) => a.name === "transB")?.i ?? 0) === 1;
      dMlp = transB ? wd[1] : wd[0];
    }
  };
  let postNorms = false;
  // Per-head outputs before the output projection: what enters it, [tokens, heads * head_dim] (the
  // head axis merged as TransformerLens's [pos, head, d_head] flattens); absent where no projection is found.
  const zSite = (layer: number, attnOut: string) => {
    const pn = projectionNode(g, attnOut);
    if (pn === undefined) return;
    const z = projectionInput(g, pn);
    if (!stream.has(z)) site(layer, "attn.hook_z", z);
  };
  const patternSite = (layer: number, set: Set<number>) => {
    const sm = [...set].find((k) => nodes[k].opType === "Softmax" && attentionSoftmax(g, k, set));
    if (sm !== undefined) site(layer, "attn.hook_pattern", appliedPattern(g, sm));
  };
  steps.forEach((s, i) => {
    if (s.kind === "parallel") {
      layer++;
      open = false;
      site(layer, "hook_resid_pre", s.input, producerFused(s.input));
      site(layer, "hook_attn_out", s.attnBranch!);
      zSite(layer, s.attnBranch!);
      site(layer, "hook_mlp_out", s.mlpBranch!);
      site(layer, "hook_resid_post", s.output, fusedNode(s));
      patternSite(layer, branchNodes[i]);
      mlpSites(layer, s.mlpBranch!);
      return;
    }
    if (s.kind === "attn" || !open) {
      layer++;
      site(layer, "hook_resid_pre", s.input, producerFused(s.input));
      open = s.kind === "attn";
    }
    if (s.kind === "attn") {
      const [attnOut, post] = branchProjection(g, s.branch);
      if (post) postNorms = true;
      site(layer, "hook_attn_out", attnOut);
      zSite(layer, attnOut);
      site(layer, "hook_resid_mid", s.output, fusedNode(s));
      patternSite(layer, branchNodes[i]);
      return;
    }
    open = false;
    const [mlpOut, postM] = branchProjection(g, s.branch, (t) => s.kind === "moe" && !stream.has(t));
    if (postM) postNorms = true;
    site(layer, "hook_mlp_out", mlpOut);
    site(layer, "hook_resid_post", s.output, fusedNode(s));
    if (s.kind === "moe") {
      for (const k of branchNodes[i]) {
        const n = nodes[k];
        if (n.opType === "MoE" || n.opType === "QMoE") {
          site(layer, "moe.hook_router_logits", n.input[1]);
          expertsPerToken = Number(n.attribute.find((a) => a.name === "k")?.i ?? 0) || expertsPerToken;
        }
        if (n.opType === "TopK") expertsPerToken = g.constInts(n.input[1])?.[0] ?? expertsPerToken;
      }
      if (!sites.has(hookName(layer, "moe.hook_router_logits"))) {
        const r = routerProjection(g, branchNodes[i]);
        if (r) {
          site(layer, "moe.hook_router_logits", r.logits);
          numExperts = r.experts;
        }
      }
    } else mlpSites(layer, mlpOut);
  });
  const numLayers = layer + 1;
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
  const fused = [...ops].some((o) => SKIP_NORMS.has(o) || FUSED_ATTENTION.has(o) || o === "MatMulNBits" || o === "MoE");
  const dynamo = nodes.some((n) => n.metadataProps.some((p) => p.key.startsWith("pkg.torch.onnx") || p.key === "namespace"));
  let exportStyle = fused ? "ort-fused" : dynamo ? "dynamo" : nodes.some((n) => n.name.startsWith("/")) ? "torchscript" : "onnx";
  if ([...ops].some((o) => QUANT_OPS.has(o))) exportStyle += "+quantized";
  if (residDtype === 10) exportStyle += "+fp16";
  if (steps.some((s) => s.kind === "moe"))
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
      if (n.opType === "MatMulNBits") return Number(n.attribute.find((a) => a.name === "N")?.i ?? 0) || undefined;
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

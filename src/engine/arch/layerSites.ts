// The architecture map's fourth phase (archMap.ts): residual steps grouped into layers (an
// attention step, then an MLP or MoE step; a parallel step is a layer of its own), and each
// layer's activation sites named as TransformerLens names them.
import type { HookName } from "../types";
import { hookName } from "../types";
import type { GraphIndex } from "../onnx/graph";
import {
  PACKED_MATMULS,
  appliedPattern,
  attentionSoftmax,
  packedSize,
  branchProjection,
  projectionInput,
  projectionNode,
  routerProjection,
} from "./patterns";
import type { ResidualStep, SiteRef } from "./mapTypes";

export interface LayerSites {
  sites: Map<HookName, SiteRef>;
  numLayers: number;
  /** The last layer has attention but no MLP step. */
  open: boolean;
  /** Attention/MLP outputs are normalised again before the residual add. */
  postNorms: boolean;
  dMlp?: number;
  numExperts?: number;
  expertsPerToken?: number;
}

export function layerSites(g: GraphIndex, steps: ResidualStep[], stream: Set<string>, branchNodes: Set<number>[]): LayerSites {
  const nodes = g.nodes;
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
    if (PACKED_MATMULS.has(pnode.opType)) dMlp = packedSize(pnode, "K") ?? dMlp;
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
  // A mixture-of-experts branch: its router logits (a fused MoE op's input, or the projection before TopK).
  const routerSites = (layer: number, set: Set<number>) => {
    for (const k of set) {
      const n = nodes[k];
      if (n.opType === "MoE" || n.opType === "QMoE") {
        site(layer, "moe.hook_router_logits", n.input[1]);
        expertsPerToken = Number(n.attribute.find((a) => a.name === "k")?.i ?? 0) || expertsPerToken;
      }
      if (n.opType === "TopK") expertsPerToken = g.constInts(n.input[1])?.[0] ?? expertsPerToken;
    }
    if (!sites.has(hookName(layer, "moe.hook_router_logits"))) {
      const r = routerProjection(g, set);
      if (r) {
        site(layer, "moe.hook_router_logits", r.logits);
        numExperts = r.experts;
      }
    }
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
      if (s.mlpMoe) routerSites(layer, g.between(s.mlpBranch!, stream));
      else mlpSites(layer, s.mlpBranch!);
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
    if (s.kind === "moe") routerSites(layer, branchNodes[i]);
    else mlpSites(layer, mlpOut);
  });
  return { sites, numLayers: layer + 1, open, postNorms, dMlp, numExperts, expertsPerToken };
}

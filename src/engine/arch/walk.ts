// The first phases of the architecture map (archMap.ts): find the token embedding, walk the
// residual stream from it step by step, and classify each step by what its branch holds.
import { IntrospectError } from "../types";
import type { GraphIndex } from "../onnx/graph";
import {
  FUSED_ATTENTION,
  MATMULS,
  SKIP_NORMS,
  STREAM_VIEWS,
  attentionSoftmax,
  castKeepsType,
  expertWeights,
  routerProjection,
} from "./patterns";
import type { ArchMap, ResidualStep, StepKind } from "./mapTypes";

export const PATTERNS_TRIED = [
  "token embedding: Gather or GatherBlockQuantized of a 2-D weight by input_ids",
  "residual step: Add(stream, branch(stream))",
  "residual step: SkipLayerNormalization / SkipSimplifiedLayerNormalization (output 3 = sum)",
  "unembedding: MatMul / Gemm / MatMulNBits / MatMulBnb4 producing the logits output",
];

export function noLayers(detail: string): IntrospectError {
  return new IntrospectError(
    "no-layers-found",
    `No transformer layer structure was found (${detail}). Patterns tried: ${PATTERNS_TRIED.join("; ")}. ` +
      "Introspect supports decoder-only language models exported to ONNX (Optimum, torch.onnx, onnxruntime-genai).",
  );
}

/** The token-embedding Gather (a 2-D weight indexed by input_ids) with the most rows. */
export function findEmbedding(g: GraphIndex): { node: number; rows: number; output: string; dims: number[]; quantized?: string } {
  const nodes = g.nodes;
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
  let embedOutput = nodes[embedNode].output[0];
  const embedDims = g.weightDims(nodes[embedNode].input[0])!;
  // A quantised Gather (quantize_dynamic's int8 / uint8 embedding) gathers integer rows and a
  // DequantizeLinear makes the float stream; the first layer's projections may read the integer rows.
  let quantized: string | undefined;
  const w = g.m.initializers.get(nodes[embedNode].input[0]);
  const deq = g
    .users(embedOutput)
    .map((u) => nodes[u.node])
    .find((n) => n.opType === "DequantizeLinear" && n.input[0] === embedOutput);
  if (nodes[embedNode].opType === "Gather" && w && [2, 3].includes(w.dataType) && deq?.output[0]) {
    quantized = embedOutput;
    embedOutput = deq.output[0];
  }
  return { node: embedNode, rows: embedRows, output: embedOutput, dims: embedDims, quantized };
}

/** The residual chain from the embedding: its steps, the stream tensors and where it ends. */
export function walkResidualChain(
  g: GraphIndex,
  embedNode: number,
  embedOutput: string,
  /** The integer rows of a quantised embedding: a stream tensor too, so branches stop there. */
  quantizedEmbed?: string,
): { steps: ResidualStep[]; addSumOutputs: ArchMap["addSumOutputs"]; stream: Set<string>; end: string } {
  const nodes = g.nodes;
  const embedInit0 = g.m.initializers.get(nodes[embedNode].input[0]);
  const map0 = { residType: embedInit0 && [1, 10, 16].includes(embedInit0.dataType) ? embedInit0.dataType : 0 };
  const steps: ResidualStep[] = [];
  const addSumOutputs: ArchMap["addSumOutputs"] = [];
  const stream = new Set<string>([embedOutput]);
  if (quantizedEmbed) stream.add(quantizedEmbed);
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
        const readsR = (x: string) => g.dependsOn(other, x, new Set([...stream].filter((s) => s !== x)));
        if (readsR(R) || (steps.length === 0 && R === embedOutput && quantizedEmbed && readsR(quantizedEmbed))) {
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
      } else if (steps.length === 0 && u.slot === 0 && (n.opType === "Mul" || n.opType === "Div") && rmsScaleOf(g, n.input[1], aliases)) {
        embedNorm = embedNorm ?? n.output[0]; // a traced RMS norm of the embedding (nanochat): x * 1/sqrt(mean(x²) + eps)
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

  return { steps, addSumOutputs, stream, end: R };
}

/** Ops of a traced RMS norm's scale: 1/sqrt(mean(x²) + eps), with casts and broadcasts. */
const RMS_SCALE_OPS = new Set(["Div", "Reciprocal", "Sqrt", "Add", "Cast", "Pow", "Mul", "Expand", "Unsqueeze", "ReduceMean"]);

/** Whether t is computed from one of xs only through an RMS norm's scale (it passes a ReduceMean
 * and no projection): then x * t, or x / t, normalises x. */
function rmsScaleOf(g: GraphIndex, t: string, xs: string[]): boolean {
  if (!t || g.isConst(t)) return false;
  let reduced = false;
  let reachesX = false;
  const queue = [t];
  const seen = new Set<string>();
  while (queue.length) {
    const x = queue.shift()!;
    if (seen.has(x)) continue;
    if (seen.size > 16) return false;
    seen.add(x);
    if (xs.includes(x)) {
      reachesX = true;
      continue;
    }
    const p = g.producerNode(x);
    if (!p) {
      if (!g.isConst(x)) return false; // a graph input other than the stream
      continue;
    }
    if (!RMS_SCALE_OPS.has(p.opType)) return false;
    if (p.opType === "ReduceMean") reduced = true;
    for (const i of p.input) if (i && !g.isConst(i)) queue.push(i);
  }
  return reduced && reachesX;
}

/** Sets each step's kind (attention, MLP, MoE, parallel) and returns the nodes of each branch. */
export function classifySteps(
  g: GraphIndex,
  steps: ResidualStep[],
  stream: Set<string>,
): { branchNodes: Set<number>[]; fusedAttention: string } {
  const nodes = g.nodes;
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
      // The other part must compute something: a bias broadcast to the stream's shape
      // (GPT-NeoX-Japanese's last attention: dense(x) + bias.expand_as(residual)) is no MLP.
      const other = ka === "attn" ? b : a;
      const projects = [...g.between(other, branchStop)].some((k) => MATMULS.has(nodes[k].opType) || nodes[k].opType === "Einsum");
      if ((ka === "attn") !== (kb === "attn") && projects) {
        s.kind = "parallel";
        s.attnBranch = ka === "attn" ? a : b;
        s.mlpBranch = ka === "attn" ? b : a;
        s.mlpMoe = kindOf(g.between(s.mlpBranch, branchStop)) === "moe";
        branchNodes[i] = g.between(s.attnBranch, branchStop);
      }
    }
  });

  return { branchNodes, fusedAttention };
}

// Op sets and small graph-walking helpers of the architecture map: the place to teach it new ops.
import type { GraphIndex } from "../onnx/graph";

export const FUSED_ATTENTION = new Set([
  "Attention",
  "MultiHeadAttention",
  "GroupQueryAttention",
  "PackedAttention",
  "PackedMultiHeadAttention",
  "SparseAttention",
  "PagedAttention",
  "DecoderMaskedMultiHeadAttention",
  "DecoderMaskedSelfAttention",
]);
/** Fused attention ops that take several new tokens after a non-empty past only for one sequence at
 * a time (onnxruntime's GroupQueryAttention: "batch_size must be 1 when sequence_length > 1 and past
 * context is given"); batched prompts (empty past) and batched one-token steps are fine. */
export const SINGLE_ROW_CONTINUATION = new Set(["GroupQueryAttention"]);
export const SKIP_NORMS = new Set(["SkipLayerNormalization", "SkipSimplifiedLayerNormalization"]);
export const MATMULS = new Set([
  "MatMul",
  "Gemm",
  "MatMulNBits",
  "MatMulBnb4",
  "MatMulInteger",
  "FusedMatMul",
  "QLinearMatMul",
  "MatMulIntegerToFloat",
  "DynamicQuantizeMatMul",
  "GatherBlockQuantized",
]);
/** Ops that show the same values in another shape: a residual read through one is still the stream. */
export const STREAM_VIEWS = new Set(["Reshape", "Flatten", "Squeeze", "Unsqueeze"]);
export const PASS_THROUGH = new Set(["Reshape", "Cast", "Squeeze", "Unsqueeze", "Identity", "Flatten", "Dropout"]);
export const QUANT_OPS = new Set([
  "MatMulInteger",
  "MatMulNBits",
  "MatMulBnb4",
  "DynamicQuantizeLinear",
  "QLinearMatMul",
  "DequantizeLinear",
  "MatMulIntegerToFloat",
  "DynamicQuantizeMatMul",
  "GatherBlockQuantized",
  "QMoE",
]);

/** Block-quantised MatMuls whose weight is packed (its initializer's shape is not [K, N]): the
 * sizes are the node's attributes K and N. MatMulNBits (4/8-bit, onnxruntime-genai and
 * MatMulNBitsQuantizer) and MatMulBnb4 (FP4/NF4, Transformers.js "bnb4"). */
export const PACKED_MATMULS = new Set(["MatMulNBits", "MatMulBnb4"]);

/** Attribute K or N of a packed MatMul, undefined for any other node or a missing attribute. */
export function packedSize(
  n: { opType: string; attribute: { name: string; i?: bigint | number }[] },
  which: "K" | "N",
): number | undefined {
  if (!PACKED_MATMULS.has(n.opType)) return undefined;
  return Number(n.attribute.find((a) => a.name === which)?.i ?? 0) || undefined;
}

export const NORM_OPS = new Set(["ReduceMean", "LayerNormalization", "SimplifiedLayerNormalization", "RMSNormalization"]);

/**
 * The projection output of a branch. With "sandwich" norms (Gemma 2: a norm after attention and
 * after the MLP, before the residual add) the branch output is a norm's output; the site is then the
 * projection before that norm, as in the reference hooks. Returns [tensor, hadPostNorm].
 */
export function branchProjection(g: GraphIndex, x: string, moeOutput?: (t: string) => boolean): [string, boolean] {
  if (projectionNode(g, x) !== undefined) return [x, false];
  // Find the nearest norm behind x, then what it normalises.
  const queue = [x];
  const seen = new Set<string>();
  while (queue.length && seen.size < 40) {
    const t = queue.shift()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const p = g.producerNode(t);
    if (!p) continue;
    if (NORM_OPS.has(p.opType)) {
      const pow = p.opType === "ReduceMean" ? g.producerNode(p.input[0]) : undefined;
      const normIn = backThrough(g, pow?.opType === "Pow" ? pow.input[0] : p.input[0]);
      if (projectionNode(g, normIn) !== undefined) return [normIn, true];
      // A mixture-of-experts output (a weighted sum, no single projection) normalised again.
      return moeOutput?.(normIn) ? [normIn, true] : [x, false];
    }
    // A post-norm comes after the branch's projections: never search behind one.
    if (MATMULS.has(p.opType) || p.opType === "Einsum") continue;
    for (const i of p.input) if (i && !g.isConst(i)) queue.push(i);
  }
  return [x, false];
}

/** Ops between attention scores and their Softmax, or between the Softmax and the MatMul with V:
 * scaling, masks (added before or after scaling), soft-capping (Tanh), ALiBi biases, sliding-window
 * and SDPA guards (IsNaN / Where), sinks (Concat / Slice), casts and shape ops. */
const SCORE_OPS = new Set([
  ...PASS_THROUGH,
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Where",
  "IsNaN",
  "Tanh",
  "Transpose",
  "Slice",
  "Concat",
  "Expand",
  "Max",
  "Min",
  "Clip",
  "Not",
  "And",
  "Or",
  "Equal",
]);
const PRODUCT_OPS = new Set(["MatMul", "Einsum", "FusedMatMul"]);

/** A product of two computed tensors (not a projection by a weight): Q·Kᵀ or P·V. */
function activationProduct(g: GraphIndex, n: { opType: string; input: string[] }): boolean {
  if (!PRODUCT_OPS.has(n.opType)) return false;
  const ins = n.input.filter(Boolean);
  return ins.length >= 2 && ins.every((x) => !g.isConst(x) && !weightGather(g, x));
}

/** A Gather (or GatherND) out of a constant: expert weights picked per token, not an activation. */
function weightGather(g: GraphIndex, t: string): boolean {
  const p = g.producerNode(backThrough(g, t));
  return !!p && (p.opType === "Gather" || p.opType === "GatherND" || p.opType === "GatherElements") && g.isConst(p.input[0]);
}

/**
 * Whether a Softmax is attention: its input comes (through scaling, masks, soft-capping, biases and
 * guards) from a product of two computed tensors (the scores), and its output reaches (through the
 * same kinds of ops) a product with a third computed tensor (the values). A router's Softmax reads a
 * projection by a weight, so it is not attention. Only nodes inside `within` are followed.
 */
export function attentionSoftmax(g: GraphIndex, softmax: number, within: Set<number>): boolean {
  const n = g.node(softmax);
  // Backwards to the scores.
  let scores = false;
  const back = [n.input[0]];
  const seenB = new Set<string>();
  while (back.length && !scores && seenB.size < 64) {
    const t = back.pop()!;
    if (seenB.has(t)) continue;
    seenB.add(t);
    const use = g.producer.get(t);
    if (!use || !within.has(use.node)) continue;
    const p = g.node(use.node);
    if (activationProduct(g, p)) scores = true;
    else if (SCORE_OPS.has(p.opType)) for (const i of p.input) if (i && !g.isConst(i)) back.push(i);
  }
  if (!scores) return false;
  // Forwards to the product with V.
  const fwd = [n.output[0]];
  const seenF = new Set<string>();
  while (fwd.length && seenF.size < 64) {
    const t = fwd.pop()!;
    if (seenF.has(t)) continue;
    seenF.add(t);
    for (const u of g.users(t)) {
      const c = g.node(u.node);
      if (activationProduct(g, c)) return true;
      if (SCORE_OPS.has(c.opType)) for (const o of c.output) if (o) fwd.push(o);
    }
  }
  return false;
}

/**
 * The probabilities as applied to V: the Softmax output, or the tensor its chain becomes when
 * sinks are sliced off or guards rewrite it (same values where rows are not fully masked).
 */
export function appliedPattern(g: GraphIndex, softmax: number): string {
  let t = g.node(softmax).output[0];
  for (let i = 0; i < 8; i++) {
    const us = g.users(t).map((u) => g.node(u.node));
    if (us.some((n) => activationProduct(g, n))) return t;
    // Follow a slice (sinks dropped) or a guard; stop at anything else.
    const next = us.find(
      (n) => n.opType === "Slice" || n.opType === "Where" || n.opType === "Cast" || n.opType === "Identity" || n.opType === "Dropout",
    );
    if (!next) return g.node(softmax).output[0];
    if (next.opType === "Slice") return next.output[0];
    t = next.output[0];
  }
  return g.node(softmax).output[0];
}

/** Experts' weights in a branch: 3-D constants [experts, a, b] (dense or picked per token). */
export function expertWeights(g: GraphIndex, set: Set<number>): number | undefined {
  for (const k of set) {
    const n = g.node(k);
    if (!["Gather", "MatMul", "Einsum", "GatherElements", "GatherND"].includes(n.opType)) continue;
    for (const x of n.input) {
      if (!x || !g.isConst(x)) continue;
      const d = g.weightDims(x);
      if (d && d.length === 3 && d[0] >= 2 && d[1] > 1 && d[2] > 1) return d[0];
    }
  }
  return undefined;
}

/**
 * The router of a mixture-of-experts branch: the projection from the stream whose logits a gate
 * (Softmax, Sigmoid, TopK, ArgMax, ReduceMax) reads, through bias adds and reshapes, and whose width
 * is the expert count (from the experts' own weights when the branch has them). Returns the tensor
 * that holds the logits (after a bias add, before the gate) and the expert count.
 */
export function routerProjection(g: GraphIndex, set: Set<number>): { logits: string; experts: number } | undefined {
  const E = expertWeights(g, set);
  const gates = new Set(["Softmax", "Sigmoid", "TopK", "ArgMax", "ReduceMax"]);
  let best: { logits: string; experts: number; node: number } | undefined;
  for (const k of set) {
    if (!gates.has(g.node(k).opType)) continue;
    let t = g.node(k).input[0];
    for (let i = 0; i < 6; i++) {
      const pn = projectionNode(g, t);
      if (pn !== undefined) {
        const n = g.node(pn);
        const wd = n.opType === "GatherBlockQuantized" ? undefined : g.weightDims(n.input[1]);
        const width = PACKED_MATMULS.has(n.opType) ? (packedSize(n, "N") ?? 0) : wd ? Math.min(...wd) : 0;
        if (width >= 2 && (E === undefined || width === E) && (!best || pn < best.node))
          best = { logits: t, experts: E ?? width, node: pn };
        break;
      }
      const p = g.producerNode(t);
      if (!p) break;
      if (PASS_THROUGH.has(p.opType)) t = p.input[0];
      else if ((p.opType === "Add" || p.opType === "Sub") && p.input.length === 2 && p.input.some((x) => g.isConst(x)))
        t = g.isConst(p.input[0]) ? p.input[1] : p.input[0];
      else break;
    }
  }
  return best && { logits: best.logits, experts: best.experts };
}

/** Whether a Softmax output reaches a MatMul (the one with V) through casts / dropout only. */
export function patternMatMul(g: GraphIndex, t: string): boolean {
  for (let i = 0; i < 4; i++) {
    const us = g.users(t).map((u) => g.node(u.node));
    if (us.some((n) => n.opType === "MatMul" || n.opType === "Einsum")) return true;
    const pass = us.find((n) => PASS_THROUGH.has(n.opType));
    if (!pass) return false;
    t = pass.output[0];
  }
  return false;
}

/** A Cast to the stream's own type (or to float when the type is unknown) keeps the value. */
export function castKeepsType(n: { attribute: Array<{ name: string; i: bigint }> }, residType: number): boolean {
  const to = Number(n.attribute.find((a) => a.name === "to")?.i ?? -1);
  return to === (residType || 1);
}

/** Follows a tensor back through shape-only ops (Reshape, Cast...) to the tensor that carries data. */
export function backThrough(g: GraphIndex, t: string, ops = PASS_THROUGH): string {
  for (let i = 0; i < 8; i++) {
    const p = g.producerNode(t);
    if (!p || !ops.has(p.opType)) return t;
    t = p.input[0];
  }
  return t;
}

/** From a projection's output back to the MatMul-like node computing it (skipping bias adds and scales). */
export function projectionNode(g: GraphIndex, t: string): number | undefined {
  for (let i = 0; i < 10; i++) {
    const use = g.producer.get(t);
    if (!use) return undefined;
    const n = g.node(use.node);
    if (MATMULS.has(n.opType)) return use.node;
    if (PASS_THROUGH.has(n.opType) || n.opType === "Tanh")
      t = n.input[0]; // Tanh: logit soft-capping (Gemma 2)
    else if ((n.opType === "Add" || n.opType === "Mul" || n.opType === "Div") && n.input.length === 2) {
      const c0 = g.isConst(n.input[0]);
      const c1 = g.isConst(n.input[1]);
      if (c0 === c1) {
        // Dequantised MatMulInteger output: Mul(Cast(MatMulInteger), scale*scale) where both are computed.
        const isInt = (x: string) => /^MatMulInteger/.test(g.producerNode(x)?.opType ?? "");
        const q = [n.input[0], n.input[1]].find(
          (x) => isInt(x) || (g.producerNode(x)?.opType === "Cast" && isInt(g.producerNode(x)!.input[0])),
        );
        if (!q) return undefined;
        t = q;
      } else t = c0 ? n.input[1] : n.input[0];
    } else return undefined;
  }
  return undefined;
}

/** The activation entering a projection node (before dynamic quantisation and reshapes). */
export function projectionInput(g: GraphIndex, node: number): string {
  let t = g.node(node).input[0];
  const p = g.producerNode(t);
  if (p?.opType === "DynamicQuantizeLinear") t = p.input[0];
  return backThrough(g, t);
}

// Producer/consumer index over a scanned graph, and small helpers the architecture map uses.
import type { NodeProto } from "onnx-buf";
import type { ScannedModel } from "./modelFile";

export interface Use {
  node: number;
  slot: number;
}

export class GraphIndex {
  readonly producer = new Map<string, Use>();
  readonly consumers = new Map<string, Use[]>();
  readonly inputNames: Set<string>;
  readonly outputNames: Set<string>;

  constructor(readonly m: ScannedModel) {
    m.nodes.forEach((n, i) => {
      n.output.forEach((o, slot) => o && this.producer.set(o, { node: i, slot }));
      n.input.forEach((t, slot) => {
        if (!t) return;
        const list = this.consumers.get(t) ?? [];
        list.push({ node: i, slot });
        this.consumers.set(t, list);
      });
    });
    this.inputNames = new Set(m.inputs.map((v) => v.name).filter((n) => !m.initializers.has(n)));
    this.outputNames = new Set(m.outputs.map((v) => v.name));
  }

  get nodes(): NodeProto[] {
    return this.m.nodes;
  }

  node(i: number): NodeProto {
    return this.m.nodes[i];
  }

  producerNode(t: string): NodeProto | undefined {
    const p = this.producer.get(t);
    return p ? this.m.nodes[p.node] : undefined;
  }

  users(t: string): Use[] {
    return this.consumers.get(t) ?? [];
  }

  /** True for initializers and outputs of Constant nodes (and ops computed from constants only). */
  isConst(t: string, depth = 0): boolean {
    if (this.m.initializers.has(t)) return true;
    const p = this.producerNode(t);
    if (!p) return false;
    if (p.opType === "Constant") return true;
    if (depth > 6) return false;
    // A constant broadcast to a computed shape (bias.expand_as(x)) holds only the constant's values.
    if (p.opType === "Expand") return this.isConst(p.input[0], depth + 1);
    // Cast/Transpose/DequantizeLinear/Reshape of a weight still carry a weight.
    return p.input.length > 0 && p.input.every((i) => !i || this.isConst(i, depth + 1));
  }

  /** Dims of a weight tensor, following Cast/DequantizeLinear/Transpose back to an initializer. */
  weightDims(t: string): number[] | undefined {
    for (let i = 0; i < 8; i++) {
      const init = this.m.initializers.get(t);
      if (init) return init.dims;
      const p = this.producerNode(t);
      if (!p) return undefined;
      if (p.opType === "Constant") {
        const a = p.attribute.find((x) => x.name === "value");
        return a?.t ? a.t.dims.map(Number) : undefined;
      }
      if (p.opType === "Transpose") {
        const d = this.weightDims(p.input[0]);
        return d ? [...d].reverse() : undefined;
      }
      if (p.opType === "Reshape") {
        // A weight viewed in another shape (onnxruntime-genai reads the lm_head's 4-bit weight
        // [vocab, blocks, bytes] as the embedding table [vocab, bytes per row]).
        const shape = this.constInts(p.input[1]);
        const d = this.weightDims(p.input[0]);
        return shape && d ? reshapeDims(d, shape) : undefined;
      }
      t = p.input[0];
    }
    return undefined;
  }

  /** Integer value(s) of a small constant (Constant node or int64 initializer read via reader). */
  constInts(t: string): number[] | undefined {
    const p = this.producerNode(t);
    if (p?.opType === "Constant") {
      const a = p.attribute.find((x) => x.name === "value");
      const tp = a?.t;
      if (!tp) return a ? [Number(a.i)] : undefined;
      if (tp.int64Data.length) return tp.int64Data.map(Number);
      if (tp.rawData.length && tp.dataType === 7) {
        const dv = new DataView(tp.rawData.buffer, tp.rawData.byteOffset, tp.rawData.byteLength);
        return Array.from({ length: tp.rawData.byteLength / 8 }, (_, i) => Number(dv.getBigInt64(i * 8, true)));
      }
    }
    return undefined;
  }

  /**
   * Nodes that lie on a path from any tensor in `from` to `to` (walking backwards from `to`,
   * never past `stop` tensors). Returns node indices.
   */
  between(to: string, stop: Set<string>): Set<number> {
    const seen = new Set<number>();
    const stack = [to];
    const visited = new Set<string>();
    while (stack.length) {
      const t = stack.pop()!;
      if (visited.has(t) || stop.has(t)) continue;
      visited.add(t);
      const p = this.producer.get(t);
      if (!p || seen.has(p.node)) continue;
      seen.add(p.node);
      for (const i of this.m.nodes[p.node].input) if (i) stack.push(i);
    }
    return seen;
  }

  /** Whether tensor `t` is computed from `ancestor` (backward walk, bounded by `stop`). */
  dependsOn(t: string, ancestor: string, stop: Set<string> = new Set()): boolean {
    const stack = [t];
    const visited = new Set<string>();
    while (stack.length) {
      const x = stack.pop()!;
      if (x === ancestor) return true;
      if (visited.has(x) || stop.has(x)) continue;
      visited.add(x);
      const p = this.producerNode(x);
      // A Shape/Size of a tensor is not a data dependency (position ids are often built from it).
      if (p && p.opType !== "Shape" && p.opType !== "Size") for (const i of p.input) if (i) stack.push(i);
    }
    return false;
  }
}

/** ONNX Reshape's output dims (0 copies the input's dim, one -1 takes the rest); undefined when they do not fit. */
export function reshapeDims(input: number[], shape: number[]): number[] | undefined {
  const total = input.reduce((a, b) => a * b, 1);
  const out = shape.map((v, i) => (v === 0 ? input[i] : v));
  const known = out.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
  const free = out.filter((v) => v === -1).length;
  if (free > 1 || out.some((v) => v === undefined || v < -1) || known === 0) return undefined;
  if (free === 1) {
    if (total % known !== 0) return undefined;
    return out.map((v) => (v === -1 ? total / known : v));
  }
  return known === total ? out : undefined;
}

/** Attribute helpers. */
export function attrInt(n: NodeProto, name: string, dflt: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? Number(a.i) : dflt;
}

export function attrFloat(n: NodeProto, name: string, dflt: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a ? a.f : dflt;
}

/** `key` from node metadata_props (dynamo exports put module paths there). */
export function nodeMeta(n: NodeProto, key: string): string | undefined {
  return n.metadataProps.find((p) => p.key === key)?.value;
}

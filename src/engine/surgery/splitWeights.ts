// Large MatMul weights written as a chain of row blocks, so opening a session never holds two
// copies of the whole matrix.
//
// Why: onnxruntime prepacks every constant MatMul weight at session start (MLAS's packed layout),
// and while it packs one, the weight as read from the file and its packed copy are both resident.
// The peak of a session's start is therefore the weights plus the largest one again. For GPT-2 small
// that largest one is the unembedding (768 x 50257 floats, 147 MiB, a quarter of the file); for a
// Llama-3.2-1B-shaped model it is 1 GiB.
//
// How: MatMul(X, W) with W [K, N] becomes
//   Xs = Reshape(X, [-1, K]); X0..Xc = Split(Xs, axis 1, row counts)
//   Y0 = Gemm(X0, W0); Yi = Gemm(Xi, Wi, Y(i-1)); Y = Reshape(Yc, shape(X)[:-1] + [N])
// where Wi are consecutive row blocks of W. A row block of a row-major matrix is one contiguous
// byte range, so each Wi is an external-data reference into the same file at its own offset: no
// weight byte is read or copied here. Gemm adds the previous block's product as its C input (MLAS
// accumulates into C), so the chain costs one more pass over the output per block. The sum order
// over K changes (block by block), which moves float32 results by rounding only.
import { create } from "@bufbuild/protobuf";
import { NodeProtoSchema, type NodeProto } from "onnx-buf";
import type { InitializerRef, ScannedModel } from "../onnx/modelFile";
import { F } from "../onnx/modelFile";
import { concat, lenField, utf8, varintField } from "../onnx/wire";

/** Weights larger than this many bytes are split, into blocks of at most this size where
 * MAX_BLOCKS allows (default). */
export const SPLIT_ABOVE = 128 * 2 ** 20;
/** The most blocks one weight is cut into: each block is one more pass over the product. */
const MAX_BLOCKS = 4;

export interface WeightSplit {
  /** The MatMul's replacement (the final Reshape, same output and name), written in its place. */
  node: NodeProto;
  /** Nodes written after the graph's own. */
  added: NodeProto[];
  /** TensorProto payloads of the row blocks (external references). */
  initializers: Uint8Array[];
}

export interface SplitPlan {
  /** By node index in the original graph. */
  nodes: Map<number, WeightSplit>;
  /** Initializers no written node reads any more (the split weights). */
  dropped: Set<string>;
}

/** Where a row range of an initializer lies on disk: the file (relative to the edited graph) and offset. */
function placeOf(init: InitializerRef, dataLocation: string | null): { location: string; offset: number } | undefined {
  if (init.external) return { location: init.external.location, offset: init.external.offset };
  if (init.raw && dataLocation !== null) return { location: dataLocation, offset: init.raw.offset };
  return undefined;
}

function externalTensor(name: string, dims: number[], dataType: number, location: string, offset: number, length: number): Uint8Array {
  const entry = (k: string, v: string) => lenField(F.tensor.externalData, concat([lenField(1, utf8(k)), lenField(2, utf8(v))]));
  return concat([
    ...dims.map((d) => varintField(F.tensor.dims, d)),
    varintField(F.tensor.dataType, dataType),
    lenField(F.tensor.name, utf8(name)),
    entry("location", location),
    entry("offset", String(offset)),
    entry("length", String(length)),
    varintField(F.tensor.dataLocation, 1),
  ]);
}

const ints = (name: string, values: number[]): NodeProto =>
  create(NodeProtoSchema, {
    opType: "Constant",
    name,
    output: [name],
    attribute: [{ name: "value_ints", type: 7, ints: values.map((v) => BigInt(v)) }],
  });

/**
 * Plans the split of every written MatMul whose weight is a float32 [K, N] initializer larger than
 * `above` bytes that nothing else reads. `written` are the nodes the edited graph will hold (by
 * original index; -1 for added ones), `dataLocation` as in writeEdited.
 */
export function planWeightSplits(
  m: ScannedModel,
  written: Array<{ index: number; node: NodeProto }>,
  dataLocation: string | null,
  above: number,
): SplitPlan {
  const out: SplitPlan = { nodes: new Map(), dropped: new Set() };
  // Split with row counts as an input needs opset 13.
  const opset = m.opsets.get("") ?? m.opsets.get("ai.onnx") ?? 0;
  if (!(above > 0) || opset < 13) return out;
  const reads = new Map<string, number>();
  for (const { node } of written) for (const x of node.input) if (x) reads.set(x, (reads.get(x) ?? 0) + 1);
  const graphOutputs = new Set(m.outputs.map((o) => o.name));
  let k = 0;
  for (const { index, node } of written) {
    if (index < 0 || node.opType !== "MatMul" || (node.domain ?? "") !== "" || node.input.length !== 2) continue;
    const [x, w] = node.input;
    const init = m.initializers.get(w);
    if (!init || m.initializers.has(x) || reads.get(w) !== 1 || graphOutputs.has(w)) continue;
    if (init.dataType !== 1 || init.dims.length !== 2) continue;
    const [K, N] = init.dims;
    const rowBytes = N * 4;
    const bytes = K * rowBytes;
    if (!(bytes > above) || K < 2) continue;
    const place = placeOf(init, dataLocation);
    if (!place) continue;
    const blocks = Math.min(MAX_BLOCKS, K, Math.ceil(bytes / above));
    if (blocks < 2) continue;
    const rows = Array.from({ length: blocks }, (_, i) => Math.floor(((i + 1) * K) / blocks) - Math.floor((i * K) / blocks));
    const p = `introspect/split/${k++}`;
    const added: NodeProto[] = [ints(`${p}/flat`, [-1, K]), ints(`${p}/rows`, rows), ints(`${p}/n`, [N])];
    added.push(create(NodeProtoSchema, { opType: "Reshape", name: `${p}/x`, input: [x, `${p}/flat`], output: [`${p}/x`] }));
    const parts = rows.map((_, i) => `${p}/x${i}`);
    added.push(
      create(NodeProtoSchema, {
        opType: "Split",
        name: `${p}/split`,
        input: [`${p}/x`, `${p}/rows`],
        output: parts,
        attribute: [{ name: "axis", type: 2, i: 1n }],
      }),
    );
    const initializers: Uint8Array[] = [];
    let row = 0;
    let prev: string | undefined;
    rows.forEach((r, i) => {
      const wi = `${p}/w${i}`;
      initializers.push(externalTensor(wi, [r, N], 1, place.location, place.offset + row * rowBytes, r * rowBytes));
      row += r;
      const y = `${p}/y${i}`;
      added.push(create(NodeProtoSchema, { opType: "Gemm", name: y, input: [parts[i], wi, ...(prev ? [prev] : [])], output: [y] }));
      prev = y;
    });
    added.push(create(NodeProtoSchema, { opType: "Shape", name: `${p}/shape`, input: [x], output: [`${p}/shape`] }));
    added.push(ints(`${p}/zero`, [0]), ints(`${p}/minus1`, [-1]));
    added.push(
      create(NodeProtoSchema, {
        opType: "Slice",
        name: `${p}/lead`,
        input: [`${p}/shape`, `${p}/zero`, `${p}/minus1`],
        output: [`${p}/lead`],
      }),
    );
    added.push(
      create(NodeProtoSchema, {
        opType: "Concat",
        name: `${p}/out_shape`,
        input: [`${p}/lead`, `${p}/n`],
        output: [`${p}/out_shape`],
        attribute: [{ name: "axis", type: 2, i: 0n }],
      }),
    );
    const last = create(NodeProtoSchema, {
      opType: "Reshape",
      name: node.name,
      input: [prev!, `${p}/out_shape`],
      output: [...node.output],
    });
    out.nodes.set(index, { node: last, added, initializers });
    out.dropped.add(w);
  }
  return out;
}

// Scans an ONNX file into a light index: decoded nodes and value infos (small), and for each
// initializer only its name, shape, type and where its bytes are (inline offset or external file).
// Weights are never read here.
import { fromBinary, create } from "@bufbuild/protobuf";
import { NodeProtoSchema, ValueInfoProtoSchema, type NodeProto, type ValueInfoProto } from "onnx-buf";
import { FileBytes, fields, decodeUtf8, WIRE_LEN } from "./wire";

/** ModelProto / GraphProto / TensorProto / NodeProto field numbers (onnx.proto). */
export const F = {
  model: { irVersion: 1, graph: 7, opsetImport: 8 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13, sparseInitializer: 15 },
  tensor: { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13, dataLocation: 14 },
  node: { input: 1, output: 2, name: 3, opType: 4, domain: 7 },
} as const;

export interface InitializerRef {
  name: string;
  dims: number[];
  dataType: number;
  /** The whole initializer field (tag included), absolute file offsets. */
  fieldStart: number;
  fieldEnd: number;
  /** The TensorProto payload inside the field. */
  payloadStart: number;
  /** Inline raw_data payload, absolute file offsets. */
  raw?: { offset: number; length: number };
  /** External data as recorded in the file (location relative to the model's folder). */
  external?: { location: string; offset: number; length: number };
}

export interface GraphFieldRef {
  field: number;
  start: number;
  end: number;
  /** Index into nodes / initializers / inputs ... for the kinds we decode. */
  index: number;
  /** The field's bytes when they are not the file's [start, end) (a node written for a flattened graph). */
  bytes?: Uint8Array;
}

export interface ScannedModel {
  path: string;
  size: number;
  mtimeMs: number;
  irVersion: number;
  opsets: Map<string, number>;
  /** The graph field of the ModelProto (tag included) and its payload. */
  graph: { start: number; end: number; payloadStart: number; payloadEnd: number };
  graphFields: GraphFieldRef[];
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers: Map<string, InitializerRef>;
  /** Bytes of inline weights (what a full decode would have materialised). */
  inlineBytes: number;
  /**
   * Tensors with external data outside graph.initializer (sparse initializers, tensors in node
   * attributes, initializers of subgraphs): onnxruntime reads those too, so they are checked alike.
   */
  nestedExternal: InitializerRef[];
}

/** Nodes bigger than this are only partly decoded (names and wiring), e.g. If with inline branches. */
const FULL_DECODE_LIMIT = 8 << 20;

function readPackedOrSingleInts(src: FileBytes, f: { wire: number; payloadStart: number; payloadLength: number; value: number }): number[] {
  if (f.wire !== WIRE_LEN) return [f.value];
  const out: number[] = [];
  const b = src.read(f.payloadStart, f.payloadLength);
  let v = 0;
  let mul = 1;
  for (const byte of b) {
    v += (byte & 0x7f) * mul;
    mul *= 128;
    if ((byte & 0x80) === 0) {
      out.push(v);
      v = 0;
      mul = 1;
    }
  }
  return out;
}

function scanInitializer(src: FileBytes, start: number, end: number, payloadStart: number, payloadEnd: number): InitializerRef {
  const t: InitializerRef = { name: "", dims: [], dataType: 0, fieldStart: start, fieldEnd: end, payloadStart };
  const ext: Record<string, string> = {};
  for (const f of fields(src, payloadStart, payloadEnd)) {
    switch (f.field) {
      case F.tensor.dims:
        t.dims.push(...readPackedOrSingleInts(src, f));
        break;
      case F.tensor.dataType:
        t.dataType = f.value;
        break;
      case F.tensor.name:
        t.name = decodeUtf8(src.read(f.payloadStart, f.payloadLength));
        break;
      case F.tensor.rawData:
        t.raw = { offset: f.payloadStart, length: f.payloadLength };
        break;
      case F.tensor.externalData: {
        let key = "";
        let value = "";
        for (const e of fields(src, f.payloadStart, f.payloadStart + f.payloadLength)) {
          const s = decodeUtf8(src.read(e.payloadStart, e.payloadLength));
          if (e.field === 1) key = s;
          else if (e.field === 2) value = s;
        }
        ext[key] = value;
        break;
      }
    }
  }
  if (ext.location !== undefined) {
    t.external = { location: ext.location, offset: Number(ext.offset ?? 0), length: Number(ext.length ?? -1) };
  }
  return t;
}

/** Where TensorProto messages sit in the messages that can hold them (onnx.proto field numbers). */
const HOLDS: Record<string, Record<number, string>> = {
  node: { 5: "attribute" },
  attribute: { 5: "tensor", 10: "tensor", 22: "sparse", 23: "sparse", 6: "graph", 11: "graph" },
  sparse: { 1: "tensor", 2: "tensor" },
  graph: { 1: "node", 5: "tensor", 15: "sparse" },
};
/** Subgraphs nested deeper than this are refused (real models nest a few levels). */
const MAX_NESTING = 32;

/**
 * Collects the tensors with external data inside a node, sparse tensor or graph, walking the wire
 * format by the schema above (weights are skipped by their length, never read).
 */
function collectNestedExternal(src: FileBytes, kind: string, start: number, end: number, out: InitializerRef[], depth = 0): void {
  if (depth > MAX_NESTING) throw new Error(`subgraphs nested more than ${MAX_NESTING} deep`);
  const holds = HOLDS[kind];
  for (const f of fields(src, start, end)) {
    const inner = f.wire === WIRE_LEN ? holds[f.field] : undefined;
    if (!inner) continue;
    const pEnd = f.payloadStart + f.payloadLength;
    if (inner === "tensor") {
      const t = scanInitializer(src, f.start, f.end, f.payloadStart, pEnd);
      if (t.external) out.push(t);
    } else collectNestedExternal(src, inner, f.payloadStart, pEnd, out, depth + 1);
  }
}

function lightNode(src: FileBytes, payloadStart: number, payloadEnd: number): NodeProto {
  const n = create(NodeProtoSchema, {});
  for (const f of fields(src, payloadStart, payloadEnd)) {
    if (f.wire !== WIRE_LEN) continue;
    const text = () => decodeUtf8(src.read(f.payloadStart, f.payloadLength));
    if (f.field === F.node.input) n.input.push(text());
    else if (f.field === F.node.output) n.output.push(text());
    else if (f.field === F.node.name) n.name = text();
    else if (f.field === F.node.opType) n.opType = text();
    else if (f.field === F.node.domain) n.domain = text();
  }
  return n;
}

/** The parts of a ScannedModel that one GraphProto fills. */
export type GraphScan = Pick<
  ScannedModel,
  "graphFields" | "nodes" | "inputs" | "outputs" | "initializers" | "inlineBytes" | "nestedExternal"
>;

/**
 * Indexes the GraphProto whose payload is [start, end) in the file into `m`: the main graph, or a
 * subgraph (an If node's branch, see merged.ts). Node indices continue from what `m` holds.
 */
/** A graph scan with nothing read yet, for scanGraphInto to fill. */
export function emptyGraphScan(): GraphScan {
  return { graphFields: [], nodes: [], inputs: [], outputs: [], initializers: new Map(), inlineBytes: 0, nestedExternal: [] };
}

export function scanGraphInto(src: FileBytes, start: number, end: number, m: GraphScan): void {
  for (const f of fields(src, start, end)) {
    const ref: GraphFieldRef = { field: f.field, start: f.start, end: f.end, index: -1 };
    const pEnd = f.payloadStart + f.payloadLength;
    switch (f.field) {
      case F.graph.node:
        collectNestedExternal(src, "node", f.payloadStart, pEnd, m.nestedExternal);
        ref.index = m.nodes.length;
        m.nodes.push(
          f.payloadLength > FULL_DECODE_LIMIT
            ? lightNode(src, f.payloadStart, pEnd)
            : fromBinary(NodeProtoSchema, src.read(f.payloadStart, f.payloadLength)),
        );
        break;
      case F.graph.initializer: {
        const t = scanInitializer(src, f.start, f.end, f.payloadStart, pEnd);
        m.initializers.set(t.name, t);
        if (t.raw) m.inlineBytes += t.raw.length;
        break;
      }
      case F.graph.sparseInitializer:
        collectNestedExternal(src, "sparse", f.payloadStart, pEnd, m.nestedExternal);
        break;
      case F.graph.input:
        ref.index = m.inputs.length;
        m.inputs.push(fromBinary(ValueInfoProtoSchema, src.read(f.payloadStart, f.payloadLength)));
        break;
      case F.graph.output:
        ref.index = m.outputs.length;
        m.outputs.push(fromBinary(ValueInfoProtoSchema, src.read(f.payloadStart, f.payloadLength)));
        break;
    }
    m.graphFields.push(ref);
  }
}

/** Scans `path`. Throws plain Errors on malformed files; callers turn them into user sentences. */
export function scanModel(path: string, src: FileBytes, mtimeMs: number): ScannedModel {
  let irVersion = 0;
  const opsets = new Map<string, number>();
  let graph: ScannedModel["graph"] | undefined;
  for (const f of fields(src, 0, src.size)) {
    if (f.field === F.model.irVersion) irVersion = f.value;
    else if (f.field === F.model.graph && f.wire === WIRE_LEN) {
      graph = { start: f.start, end: f.end, payloadStart: f.payloadStart, payloadEnd: f.payloadStart + f.payloadLength };
    } else if (f.field === F.model.opsetImport && f.wire === WIRE_LEN) {
      let domain = "";
      let version = 0;
      for (const g of fields(src, f.payloadStart, f.payloadStart + f.payloadLength)) {
        if (g.field === 1) domain = decodeUtf8(src.read(g.payloadStart, g.payloadLength));
        else if (g.field === 2) version = g.value;
      }
      opsets.set(domain, version);
    }
  }
  if (!graph || irVersion === 0) throw new Error("no graph or IR version found");
  const m: ScannedModel = {
    path,
    size: src.size,
    mtimeMs,
    irVersion,
    opsets,
    graph,
    ...emptyGraphScan(),
  };
  scanGraphInto(src, graph.payloadStart, graph.payloadEnd, m);
  return m;
}

/** Element type of a graph input/output (TensorProto.DataType), 0 when unknown. */
export function elemType(v: ValueInfoProto): number {
  const t = v.type?.value;
  return t && t.case === "tensorType" ? (t.value.elemType ?? 0) : 0;
}

/** Static dims of a value info: numbers for fixed sizes, strings for symbolic ones. */
export function shapeOf(v: ValueInfoProto): (number | string)[] | undefined {
  const t = v.type?.value;
  if (!t || t.case !== "tensorType" || !t.value.shape) return undefined;
  return t.value.shape.dim.map((d) =>
    d.value.case === "dimValue" ? Number(d.value.value) : d.value.case === "dimParam" ? d.value.value : "?",
  );
}

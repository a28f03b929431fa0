// Merged decoders (Optimum / Transformers.js `decoder_model_merged*.onnx`): one graph holding a
// decoder without past and one with past as the two branches of an `If` on the bool input
// `use_cache_branch` (then: with past, else: without). Both branches read the outer graph's inputs
// and the initializers they share from the outer graph, by name.
//
// The map works on plain graphs, so each branch is flattened into one: the outer graph with the If
// node replaced by the branch's nodes, initializers and value infos (all still at their offsets in
// the original file, so nothing is copied or decoded), and without the `use_cache_branch` input. A
// flattened graph is written only as an edited graph, in the cache (editCache.ts), like any other.
import { create, toBinary } from "@bufbuild/protobuf";
import { NodeProtoSchema } from "onnx-buf";
import { F, emptyGraphScan, scanGraphInto, type GraphFieldRef, type InitializerRef, type ScannedModel } from "./modelFile";
import { fields, decodeUtf8, lenField, WIRE_LEN, type FileBytes } from "./wire";

export const USE_CACHE_BRANCH = "use_cache_branch";

/** `then_branch` runs when use_cache_branch is true (a non-empty past), `else_branch` when it is false. */
export type Branch = "then_branch" | "else_branch";

/** AttributeProto field numbers (onnx.proto). */
const ATTR = { name: 1, g: 6 } as const;
const NODE_ATTRIBUTE = 5;

/** The condition's tensors (the input, and Casts / Identities of it) and the nodes making them. */
function condition(m: ScannedModel): { tensors: Set<string>; nodes: Set<number> } {
  const tensors = new Set([USE_CACHE_BRANCH]);
  const nodes = new Set<number>();
  m.nodes.forEach((n, i) => {
    if ((n.opType === "Cast" || n.opType === "Identity") && tensors.has(n.input[0])) {
      n.output.forEach((o) => tensors.add(o));
      nodes.add(i);
    }
  });
  return { tensors, nodes };
}

/** The index of the If node that selects a merged decoder's branch, or undefined for any other graph. */
export function mergedIf(m: ScannedModel): number | undefined {
  if (!m.inputs.some((i) => i.name === USE_CACHE_BRANCH)) return undefined;
  const { tensors } = condition(m);
  const i = m.nodes.findIndex((n) => n.opType === "If" && tensors.has(n.input[0]));
  return i >= 0 ? i : undefined;
}

/** The payload range of one branch graph inside the If node's field. */
function branchRange(src: FileBytes, field: GraphFieldRef, branch: Branch): { start: number; end: number } {
  const node = fields(src, field.start, field.end).next().value;
  if (!node || node.wire !== WIRE_LEN) throw new Error("the If node could not be read");
  for (const a of fields(src, node.payloadStart, node.payloadStart + node.payloadLength)) {
    if (a.field !== NODE_ATTRIBUTE || a.wire !== WIRE_LEN) continue;
    let name = "";
    let g: { start: number; end: number } | undefined;
    for (const x of fields(src, a.payloadStart, a.payloadStart + a.payloadLength)) {
      if (x.field === ATTR.name && x.wire === WIRE_LEN) name = decodeUtf8(src.read(x.payloadStart, x.payloadLength));
      else if (x.field === ATTR.g && x.wire === WIRE_LEN) g = { start: x.payloadStart, end: x.payloadStart + x.payloadLength };
    }
    if (name === branch && g) return g;
  }
  throw new Error(`the If node on ${USE_CACHE_BRANCH} has no ${branch} graph`);
}

/**
 * The graph a pass through `branch` runs: the outer graph with the If node replaced by that branch.
 * The past inputs stay declared in both (the branch without past ignores them), so every pass is fed
 * alike; `use_cache_branch` is gone, since the choice is made by which flattened graph runs.
 */
export function flattenBranch(m: ScannedModel, src: FileBytes, ifIndex: number, branch: Branch): ScannedModel {
  const ifField = m.graphFields.find((f) => f.field === F.graph.node && f.index === ifIndex);
  if (!ifField) throw new Error("the If node's field was not found");
  const range = branchRange(src, ifField, branch);
  const inner = emptyGraphScan();
  scanGraphInto(src, range.start, range.end, inner);
  const ifNode = m.nodes[ifIndex];
  if (inner.outputs.length !== ifNode.output.length)
    throw new Error(`${branch} has ${inner.outputs.length} outputs, the If node ${ifNode.output.length}`);
  const out: ScannedModel = {
    ...m,
    graphFields: [],
    nodes: [],
    inputs: [],
    outputs: [],
    initializers: new Map(),
    inlineBytes: 0,
    // Tensors with external data inside the If node are the branches'; the flattened graph keeps its own.
    nestedExternal: [
      ...m.nestedExternal.filter((t) => t.fieldStart < ifField.start || t.fieldStart >= ifField.end),
      ...inner.nestedExternal,
    ],
  };
  const initAt = new Map<number, InitializerRef>([...m.initializers.values()].map((t) => [t.fieldStart, t]));
  const condNodes = condition(m).nodes;
  const addNode = (f: GraphFieldRef, n = m.nodes[f.index]) => {
    out.graphFields.push({ ...f, index: out.nodes.length });
    out.nodes.push(n);
  };
  const addInit = (f: GraphFieldRef, t: InitializerRef) => {
    out.graphFields.push(f);
    out.initializers.set(t.name, t);
    if (t.raw) out.inlineBytes += t.raw.length;
  };
  for (const f of m.graphFields) {
    if (f.field === F.graph.node && f.index === ifIndex) {
      const innerAt = new Map<number, InitializerRef>([...inner.initializers.values()].map((t) => [t.fieldStart, t]));
      for (const b of inner.graphFields) {
        if (b.field === F.graph.node) addNode(b, inner.nodes[b.index]);
        else if (b.field === F.graph.initializer) addInit(b, innerAt.get(b.start)!);
        else if (b.field === F.graph.valueInfo || b.field === F.graph.sparseInitializer) out.graphFields.push(b);
      }
      // Where the branch names its outputs differently from the If node's, an Identity joins them.
      inner.outputs.forEach((o, k) => {
        const to = ifNode.output[k];
        if (!to || to === o.name) return;
        const n = create(NodeProtoSchema, { opType: "Identity", name: `introspect/merged/${to}`, input: [o.name], output: [to] });
        addNode({ field: F.graph.node, start: -1, end: -1, index: -1, bytes: lenField(F.graph.node, toBinary(NodeProtoSchema, n)) }, n);
      });
    } else if (f.field === F.graph.node) {
      if (!condNodes.has(f.index)) addNode(f);
    } else if (f.field === F.graph.initializer) {
      const t = initAt.get(f.start)!;
      // A branch's own initializer of the same name hides the outer one inside that branch.
      if (!inner.initializers.has(t.name)) addInit(f, t);
    } else if (f.field === F.graph.input) {
      const v = m.inputs[f.index];
      if (v.name === USE_CACHE_BRANCH) continue;
      out.graphFields.push({ ...f, index: out.inputs.length });
      out.inputs.push(v);
    } else if (f.field === F.graph.output) {
      out.graphFields.push({ ...f, index: out.outputs.length });
      out.outputs.push(m.outputs[f.index]);
    } else out.graphFields.push(f);
  }
  return out;
}

// Graph surgery: extra outputs, steering inputs and patching inputs, written as a new ONNX file
// without decoding or copying the weights.
//
// The edited file holds the original graph with (a) changed nodes re-encoded, (b) new nodes, inputs
// and outputs appended as protobuf fields, and (c) every inline initializer rewritten as an
// external-data reference into the ORIGINAL .onnx file (offset/length of its raw_data). So the edited
// file is a few hundred KB whatever the model size, and onnxruntime reads weights from the original
// files. External references require the edited file to sit in the same folder as the data files.
import { create, toBinary } from "@bufbuild/protobuf";
import { NodeProtoSchema, ValueInfoProtoSchema, type NodeProto } from "onnx-buf";
import type { HookName } from "../types";
import type { ArchMap } from "../arch/archMap";
import type { GraphIndex } from "../onnx/graph";
import type { InitializerRef, ScannedModel } from "../onnx/modelFile";
import { F, shapeOf } from "../onnx/modelFile";
import { FileBytes, concat, fields, lenField, lenPrefix, utf8, varintField } from "../onnx/wire";
import { PACKED_MATMULS } from "../arch/patterns";
import { planExpertEdit } from "../experts/edit";
import { EditPlanner } from "./sitePlan";
import { SPLIT_ABOVE, planWeightSplits } from "./splitWeights";

/** Initializers smaller than this (bytes) are copied inline; larger ones referenced in place. */
export const INLINE_LIMIT = 4096;

export interface EditSet {
  /** Sites exposed as outputs (captures). */
  capture: HookName[];
  /** Sites with a steering input `steer/<site>` (float32, broadcast onto the site: [d] or full shape). */
  steer: HookName[];
  /** Sites with patch inputs `patch_mask/<site>` (bool, broadcastable) and `patch_value/<site>` (float32). */
  patch: HookName[];
  /** Sites whose entries with |x| below `zero_below/<site>` (float32 [1]) are set to 0 (sparsity experiments). */
  zeroBelow?: HookName[];
  /** Unembed only the last position: `logits` becomes [batch, 1, vocab] (for readers of the last row only). */
  lastLogits?: boolean;
  /** MoE layers with expert-intervention inputs (`src/engine/experts/edit.ts`). */
  experts?: number[];
}

export interface EditResult {
  /** Output tensor name to read for each captured site. */
  outputs: Map<HookName, string>;
}

export { patchMaskInput, patchValueInput, steerInput, zeroBelowInput } from "./sitePlan";

/** Plans the edit: which nodes change, which are added. Pure; nothing is written. */
export function planEdit(g: GraphIndex, map: ArchMap, edit: EditSet) {
  const plan = new EditPlanner(g, map);
  for (const s of map.addSumOutputs) {
    const n = plan.mutable(s.node);
    while (n.output.length < 3) n.output.push("");
    n.output[3] = s.name;
  }
  // Plain sites first, so a fused norm's edit reads already-edited inputs.
  const zero = edit.zeroBelow ?? [];
  const editSites = [...new Set([...edit.steer, ...edit.patch, ...zero])].sort(
    (a, b) => Number(plan.ref(a).fusedSkipNode !== undefined) - Number(plan.ref(b).fusedSkipNode !== undefined),
  );
  for (const site of editSites) {
    const how = { steer: edit.steer.includes(site), patch: edit.patch.includes(site), zero: zero.includes(site) };
    if (plan.ref(site).fusedSkipNode !== undefined) plan.editFusedSite(site, how);
    else plan.editSite(site, how);
  }
  const { changed, added, newInputs, current } = plan;
  if (edit.experts?.length)
    planExpertEdit(g, map, edit.experts, { mutable: (i) => plan.mutable(i), added, newInputs, current, edited: new Set(editSites) });
  const outputs = new Map<HookName, string>();
  for (const site of edit.capture) outputs.set(site, current.get(site) ?? plan.ref(site).tensor);
  if (edit.lastLogits) lastPositionOnly(g, map, (i) => plan.mutable(i), added);
  return { changed, added, newInputs, outputs };
}

/**
 * Gathers the last position of the unembedding's [batch, seq, d] input, so a forward pass multiplies
 * one row per sequence by the (vocab x d) unembedding instead of seq rows: for GPT-2 small that
 * product is about a third of a forward's arithmetic. Norms before it work per position, so the
 * last row's logits are unchanged. Left alone when the unembedding is not a MatMul on a rank-3 input.
 */
function lastPositionOnly(g: GraphIndex, map: ArchMap, mutable: (i: number) => NodeProto, added: NodeProto[]) {
  const un = g.node(map.unembedNode);
  if (un.opType !== "MatMul" && !PACKED_MATMULS.has(un.opType)) return;
  const x = un.input[0];
  if (g.m.initializers.has(x)) return;
  const rank = g.m.outputs.find((o) => o.name === map.logitsOutput);
  const dims = rank && shapeOf(rank);
  if (!dims || dims.length !== 3) return;
  const idx = "introspect/last/index";
  const last = "introspect/last/hidden";
  added.push(
    create(NodeProtoSchema, { opType: "Constant", name: idx, output: [idx], attribute: [{ name: "value_ints", type: 7, ints: [-1n] }] }),
  );
  added.push(
    create(NodeProtoSchema, {
      opType: "Gather",
      name: last,
      input: [x, idx],
      output: [last],
      attribute: [{ name: "axis", type: 2, i: 1n }],
    }),
  );
  mutable(map.unembedNode).input[0] = last;
}

export type EditPlan = ReturnType<typeof planEdit>;

/** Restricts the written graph to some nodes, with its own inputs (outputs come from plan.outputs). */
export interface Subgraph {
  keep: Set<number>;
}

/**
 * Writes the edited model into `dest` bytes (returned as chunks to be written in order).
 * `dataLocation` is the path (relative to the edited file's folder) of the original .onnx, used for
 * inline initializers; null keeps them inline (copied), for when the edit cannot sit beside them.
 * MatMul weights larger than `splitAbove` bytes are written as row blocks (splitWeights.ts).
 */
export function writeEdited(
  m: ScannedModel,
  src: FileBytes,
  plan: EditPlan,
  dataLocation: string | null,
  sub?: Subgraph,
  splitAbove = SPLIT_ABOVE,
): Uint8Array[] {
  const graphParts: Uint8Array[] = [];
  const existingOutputs = new Set(sub ? [] : m.outputs.map((o) => o.name));
  const initAt = new Map([...m.initializers.values()].map((t) => [t.fieldStart, t]));
  const keptNode = (f: (typeof m.graphFields)[number]) => f.field === F.graph.node && (!sub || sub.keep.has(f.index));
  const written = [
    ...m.graphFields.filter(keptNode).map((f) => ({ index: f.index, node: plan.changed.get(f.index) ?? m.nodes[f.index] })),
    ...plan.added.map((node) => ({ index: -1, node })),
  ];
  const splits = planWeightSplits(m, written, dataLocation, splitAbove);
  for (const f of m.graphFields) {
    if (sub && (f.field === F.graph.input || f.field === F.graph.output || f.field === F.graph.valueInfo)) continue;
    if (sub && f.field === F.graph.node && !sub.keep.has(f.index)) continue;
    const split = f.field === F.graph.node ? splits.nodes.get(f.index) : undefined;
    if (split) {
      graphParts.push(lenField(F.graph.node, toBinary(NodeProtoSchema, split.node)));
    } else if (f.field === F.graph.node && plan.changed.has(f.index)) {
      graphParts.push(lenField(F.graph.node, toBinary(NodeProtoSchema, plan.changed.get(f.index)!)));
    } else if (f.field === F.graph.initializer && splits.dropped.has(initAt.get(f.start)?.name ?? "")) {
      continue;
    } else if (f.field === F.graph.initializer && dataLocation !== null) {
      const init = initAt.get(f.start);
      // Small tensors stay inline: onnxruntime's shape inference must read constants such as
      // Unsqueeze axes or Reshape shapes, and cannot from external data.
      if (init?.raw && init.raw.length >= INLINE_LIMIT)
        graphParts.push(lenField(F.graph.initializer, externalTensorHeader(src, init, dataLocation)));
      else graphParts.push(src.read(f.start, f.end - f.start).slice());
    } else {
      graphParts.push(f.bytes ?? src.read(f.start, f.end - f.start).slice());
    }
  }
  for (const n of plan.added) graphParts.push(lenField(F.graph.node, toBinary(NodeProtoSchema, n)));
  for (const s of splits.nodes.values()) {
    for (const n of s.added) graphParts.push(lenField(F.graph.node, toBinary(NodeProtoSchema, n)));
    for (const t of s.initializers) graphParts.push(lenField(F.graph.initializer, t));
  }
  for (const i of plan.newInputs) {
    const v = create(ValueInfoProtoSchema, { name: i.name, type: { value: { case: "tensorType", value: { elemType: i.elemType } } } });
    graphParts.push(lenField(F.graph.input, toBinary(ValueInfoProtoSchema, v)));
  }
  for (const name of new Set(plan.outputs.values())) {
    if (existingOutputs.has(name)) continue;
    graphParts.push(lenField(F.graph.output, toBinary(ValueInfoProtoSchema, create(ValueInfoProtoSchema, { name }))));
  }
  const graphLen = graphParts.reduce((a, b) => a + b.length, 0);
  return [
    src.read(0, m.graph.start).slice(),
    lenPrefix(F.model.graph, graphLen),
    ...graphParts,
    src.read(m.graph.end, m.size - m.graph.end).slice(),
  ];
}

/** Re-encodes a TensorProto's fields except raw_data, plus external_data pointing at raw_data in place.
 * Walks the fields on disk so the weight bytes themselves are never read. */
function externalTensorHeader(src: FileBytes, init: InitializerRef, location: string): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields(src, init.payloadStart, init.fieldEnd)) {
    if (f.field === F.tensor.rawData || f.field === F.tensor.dataLocation) continue;
    parts.push(src.read(f.start, f.end - f.start).slice());
  }
  const entry = (k: string, v: string) => lenField(F.tensor.externalData, concat([lenField(1, utf8(k)), lenField(2, utf8(v))]));
  const raw = init.raw!;
  parts.push(entry("location", location), entry("offset", String(raw.offset)), entry("length", String(raw.length)));
  parts.push(varintField(F.tensor.dataLocation, 1));
  return concat(parts);
}

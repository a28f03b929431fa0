// The graph edit behind expert interventions, planned into surgery's plan: per MoE layer, the router
// logits r become Reshape(Reshape(r, [-1, E]) + add, Shape(r)) with `add` a [rows, E] float input
// (rows 1 = every token alike, or one row per token of the pass, flattened batch-major), and the
// TopK choosing the experts reads its K from an int64 [1] input. Both are fed on every call, so
// switching experts off, forcing them, biasing the router or changing k never builds a new session.
import { create } from "@bufbuild/protobuf";
import { NodeProtoSchema, type NodeProto } from "onnx-buf";
import type { ArchMap } from "../arch/archMap";
import type { GraphIndex } from "../onnx/graph";
import { hookName, IntrospectError, type HookName } from "../types";
import { expertRouting } from "./routing";

export const expertAddInput = (layer: number) => `introspect/experts/add/${layer}`;
export const expertKInput = (layer: number) => `introspect/experts/k/${layer}`;

export interface PlanParts {
  mutable: (i: number) => NodeProto;
  added: NodeProto[];
  newInputs: Array<{ name: string; elemType: number }>;
  /** Current tensor of each site (captures read the edited logits: what the gate sees). */
  current: Map<HookName, string>;
  /** Sites steered or patched in the same edit. */
  edited: Set<HookName>;
}

export function planExpertEdit(g: GraphIndex, map: ArchMap, layers: number[], parts: PlanParts): void {
  const routings = expertRouting(g, map);
  for (const layer of [...new Set(layers)].sort((a, b) => a - b)) {
    const r = routings.find((x) => x.layer === layer);
    if (!r) throw new IntrospectError("bad-input", `Layer ${layer} has no router: expert interventions need a mixture-of-experts layer.`);
    const site = hookName(layer, "moe.hook_router_logits");
    if (parts.edited.has(site))
      throw new IntrospectError(
        "bad-input",
        `${site} is steered or patched in the same run: use a router bias instead of a steering vector there.`,
      );
    const p = `introspect/experts/${layer}/`;
    const add = expertAddInput(layer);
    parts.newInputs.push({ name: add, elemType: 1 });
    const orig = r.logits;
    const out = `${p}logits`;
    let addT = add;
    if (map.residDtype !== 1) {
      // fp16 graphs: the addition takes the logits' own type.
      addT = `${p}add_cast`;
      parts.added.push(create(NodeProtoSchema, { opType: "CastLike", name: addT, input: [add, orig], output: [addT] }));
    }
    parts.added.push(
      create(NodeProtoSchema, {
        opType: "Constant",
        name: `${p}flat_shape`,
        output: [`${p}flat_shape`],
        attribute: [{ name: "value_ints", type: 7, ints: [-1n, BigInt(r.experts)] }],
      }),
      create(NodeProtoSchema, { opType: "Shape", name: `${p}shape`, input: [orig], output: [`${p}shape`] }),
      create(NodeProtoSchema, { opType: "Reshape", name: `${p}flat`, input: [orig, `${p}flat_shape`], output: [`${p}flat`] }),
      create(NodeProtoSchema, { opType: "Add", name: `${p}sum`, input: [`${p}flat`, addT], output: [`${p}sum`] }),
      create(NodeProtoSchema, { opType: "Reshape", name: out, input: [`${p}sum`, `${p}shape`], output: [out] }),
    );
    for (const u of g.users(orig)) parts.mutable(u.node).input[u.slot] = out;
    if (r.topK) {
      parts.newInputs.push({ name: expertKInput(layer), elemType: 7 });
      const n = parts.mutable(r.topK.node);
      n.input[1] = expertKInput(layer);
    }
    parts.current.set(site, out);
  }
}

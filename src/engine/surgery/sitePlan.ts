// The nodes one edit adds at each site (surgery.ts plans the whole edit): zeroing small entries,
// a steering Add, a patching Where, or, at the sum inside a fused norm, the same on its branch input.
import { create } from "@bufbuild/protobuf";
import { NodeProtoSchema, type NodeProto } from "onnx-buf";
import type { ArchMap, SiteRef } from "../arch/archMap";
import type { GraphIndex } from "../onnx/graph";
import { IntrospectError, type HookName } from "../types";

export const steerInput = (site: HookName) => `introspect/steer/${site}`;
export const patchMaskInput = (site: HookName) => `introspect/patch_mask/${site}`;
export const patchValueInput = (site: HookName) => `introspect/patch_value/${site}`;
export const zeroBelowInput = (site: HookName) => `introspect/zero_below/${site}`;

/** What an edit does at one site. */
export interface SiteEdit {
  steer: boolean;
  patch: boolean;
  zero: boolean;
}

/** An edit being planned: nodes changed and added, new graph inputs, and the tensor now standing for each site. */
export class EditPlanner {
  readonly changed = new Map<number, NodeProto>();
  readonly added: NodeProto[] = [];
  readonly newInputs: Array<{ name: string; elemType: number }> = [];
  readonly current = new Map<HookName, string>();

  constructor(
    private readonly g: GraphIndex,
    private readonly map: ArchMap,
  ) {}

  /** Node i as a copy this plan may change (made once, on first use). */
  mutable(i: number): NodeProto {
    let n = this.changed.get(i);
    if (!n) {
      const g = this.g;
      n = create(NodeProtoSchema, { ...g.node(i), input: [...g.node(i).input], output: [...g.node(i).output] });
      this.changed.set(i, n);
    }
    return n;
  }

  ref(site: HookName): SiteRef {
    const r = this.map.sites.get(site);
    if (!r) throw new IntrospectError("bad-input", `The site ${site} does not exist in this model.`);
    return r;
  }

  /** A float32 input as the residual's dtype (a Cast when the model is not float32). */
  private castIfNeeded(name: string): string {
    const dtype = this.map.residDtype;
    if (dtype === 1) return name;
    const out = `${name}/cast`;
    this.added.push(
      create(NodeProtoSchema, {
        opType: "Cast",
        name: out,
        input: [name],
        output: [out],
        attribute: [{ name: "to", type: 2, i: BigInt(dtype) }],
      }),
    );
    return out;
  }

  /** The sum inside a fused norm: its branch input changes, so both its outputs (sum and normalised) see the edit. */
  editFusedSite(site: HookName, how: SiteEdit): void {
    const { g, map, added, newInputs } = this;
    const r = this.ref(site);
    if (how.zero) throw new IntrospectError("bad-input", `${site} is the sum inside a fused norm: activations cannot be zeroed there.`);
    const step = map.steps.find((s) => s.node === r.fusedSkipNode)!;
    const slot = g.node(r.fusedSkipNode!).input.indexOf(step.branch);
    const node = this.mutable(r.fusedSkipNode!);
    let b = node.input[slot];
    if (how.steer) {
      const v = this.castIfNeeded(steerInput(site));
      newInputs.push({ name: steerInput(site), elemType: 1 });
      const out = `introspect/steered/${site}/skip`;
      added.push(create(NodeProtoSchema, { opType: "Add", name: out, input: [b, v], output: [out] }));
      b = out;
    }
    if (how.patch) {
      newInputs.push({ name: patchMaskInput(site), elemType: 9 }, { name: patchValueInput(site), elemType: 1 });
      const v = this.castIfNeeded(patchValueInput(site));
      let need = `introspect/patched/${site}/need`;
      added.push(create(NodeProtoSchema, { opType: "Sub", name: need, input: [v, step.input], output: [need] }));
      const bias = node.opType === "SkipLayerNormalization" ? node.input[4] : undefined;
      if (bias) {
        const nb = `${need}/nobias`;
        added.push(create(NodeProtoSchema, { opType: "Sub", name: nb, input: [need, bias], output: [nb] }));
        need = nb;
      }
      const out = `introspect/patched/${site}/skip`;
      added.push(create(NodeProtoSchema, { opType: "Where", name: out, input: [patchMaskInput(site), need, b], output: [out] }));
      b = out;
    }
    node.input[slot] = b;
    this.current.set(site, r.tensor);
  }

  /** A plain site: new nodes after its tensor, and its consumers read the last of them. */
  editSite(site: HookName, how: SiteEdit): void {
    const before = this.added.length;
    const orig = this.ref(site).tensor;
    let t = orig;
    if (how.zero) t = this.zeroBelow(site, t);
    if (how.steer) t = this.steer(site, t);
    if (how.patch) t = this.patch(site, t);
    // Consumers of the original tensor now read the edited one; this site's new nodes keep the original.
    for (const u of this.g.users(orig)) this.mutable(u.node).input[u.slot] = t;
    for (const n of this.added.slice(0, before)) n.input = n.input.map((x) => (x === orig ? t : x));
    if (t !== orig) this.requantize(orig, t);
    this.current.set(site, t);
  }

  /**
   * A site that is DequantizeLinear(q, scale, zero point) whose integer q other nodes read directly
   * (quantize_dynamic's int8 embedding feeds the first layer's MatMulIntegers): those nodes read
   * QuantizeLinear(edited, scale, zero point) instead, so the edit reaches them. Unedited values sit
   * on the quantisation grid, so they quantise back to the same integers.
   */
  private requantize(orig: string, edited: string): void {
    const g = this.g;
    const dq = g.producerNode(orig);
    if (!dq || dq.opType !== "DequantizeLinear") return;
    const q = dq.input[0];
    const others = g.users(q).filter((u) => g.node(u.node).opType !== "DequantizeLinear" || g.node(u.node).output[0] !== orig);
    if (!others.length) return;
    const out = `${edited}/requantized`;
    this.added.push(
      create(NodeProtoSchema, {
        opType: "QuantizeLinear",
        name: out,
        input: [edited, ...dq.input.slice(1)],
        output: [out],
        attribute: dq.attribute.filter((a) => a.name === "axis" || a.name === "block_size"),
      }),
    );
    for (const u of others) this.mutable(u.node).input[u.slot] = out;
  }

  /** x * (|x| >= threshold): entries below the threshold in magnitude become 0. */
  private zeroBelow(site: HookName, t: string): string {
    this.newInputs.push({ name: zeroBelowInput(site), elemType: 1 });
    const thr = this.castIfNeeded(zeroBelowInput(site));
    const p = `introspect/zeroed/${site}/`;
    this.added.push(
      create(NodeProtoSchema, { opType: "Abs", name: `${p}abs`, input: [t], output: [`${p}abs`] }),
      create(NodeProtoSchema, { opType: "Less", name: `${p}small`, input: [`${p}abs`, thr], output: [`${p}small`] }),
      create(NodeProtoSchema, { opType: "Not", name: `${p}keep`, input: [`${p}small`], output: [`${p}keep`] }),
      create(NodeProtoSchema, {
        opType: "Cast",
        name: `${p}keepf`,
        input: [`${p}keep`],
        output: [`${p}keepf`],
        attribute: [{ name: "to", type: 2, i: BigInt(this.map.residDtype) }],
      }),
      create(NodeProtoSchema, { opType: "Mul", name: `${p}out`, input: [t, `${p}keepf`], output: [`${p}out`] }),
    );
    return `${p}out`;
  }

  private steer(site: HookName, t: string): string {
    const v = this.castIfNeeded(steerInput(site));
    this.newInputs.push({ name: steerInput(site), elemType: 1 });
    const out = `introspect/steered/${site}`;
    this.added.push(create(NodeProtoSchema, { opType: "Add", name: out, input: [t, v], output: [out] }));
    return out;
  }

  private patch(site: HookName, t: string): string {
    this.newInputs.push({ name: patchMaskInput(site), elemType: 9 }, { name: patchValueInput(site), elemType: 1 });
    const v = this.castIfNeeded(patchValueInput(site));
    const out = `introspect/patched/${site}`;
    // Seen as [batch, seq, -1] so the [batch, seq, 1] mask and [1, seq, d] value broadcast even where
    // the exporter flattened the tokens ([batch*seq, d], OPT's MLP); the result takes the site's shape back.
    const p = `introspect/patched/${site}/`;
    const k = (name: string, ints: bigint[]) =>
      create(NodeProtoSchema, {
        opType: "Constant",
        name: p + name,
        output: [p + name],
        attribute: [{ name: "value_ints", type: 7, ints }],
      });
    this.added.push(
      create(NodeProtoSchema, { opType: "Shape", name: `${p}shape`, input: [t], output: [`${p}shape`] }),
      create(NodeProtoSchema, { opType: "Shape", name: `${p}mshape`, input: [patchMaskInput(site)], output: [`${p}mshape`] }),
      k("zero", [0n]),
      k("two", [2n]),
      k("rest", [-1n]),
      create(NodeProtoSchema, { opType: "Slice", name: `${p}bt`, input: [`${p}mshape`, `${p}zero`, `${p}two`], output: [`${p}bt`] }),
      create(NodeProtoSchema, {
        opType: "Concat",
        name: `${p}target`,
        input: [`${p}bt`, `${p}rest`],
        output: [`${p}target`],
        attribute: [{ name: "axis", type: 2, i: 0n }],
      }),
      create(NodeProtoSchema, { opType: "Reshape", name: `${p}view`, input: [t, `${p}target`], output: [`${p}view`] }),
      create(NodeProtoSchema, {
        opType: "Where",
        name: `${p}where`,
        input: [patchMaskInput(site), v, `${p}view`],
        output: [`${p}where`],
      }),
      create(NodeProtoSchema, { opType: "Reshape", name: out, input: [`${p}where`, `${p}shape`], output: [out] }),
    );
    return out;
  }
}

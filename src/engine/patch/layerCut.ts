// Layer cuts: the model's graph from one layer's resid_pre on, with that residual as an input.
//
// A patch (or a steering vector) at layer L cannot change anything computed before L, so a run that
// starts from the residual entering L (captured from the unpatched prompt) and feeds only layers
// L.. gives the full graph's logits for a fraction of its work. The cut is written to the edit cache
// like every edited graph (never beside the model), one per start layer and edit set, and shares the
// model's weight files by reference. Graph inputs the kept nodes still read (ids for shapes, the
// attention mask, position ids, past keys/values of layers L..) stay inputs.
//
// A cut is refused (undefined: callers run the full graph) where the residual entering L is not one
// tensor that separates the layers before it from the rest: fused norms whose sum and normalised
// outputs both cross the cut, synthetic sums, or a kept node still needing a tensor from before L.
import type * as ort from "onnxruntime-node";
import type { HookName } from "../types";
import { parseHookName } from "../types";
import { elemType } from "../onnx/modelFile";
import { planEdit, type EditPlan } from "../surgery/surgery";
import type { LoadedModel } from "../model/loaded";
import { subgraphSession } from "../model/lens";
import { MergedDecoder } from "../model/merged";

export interface LayerCut {
  layer: number;
  session: ort.InferenceSession;
  /** The input that takes the residual entering `layer` ([batch, seq, d], the model's residual type). */
  residInput: string;
  /** Output name of each layer's present key/value, by the past input it continues (when asked for). */
  presents: Map<string, string>;
}

export interface CutEdit {
  /** Sites with patch inputs (only those at layers >= the cut's are used). */
  patch?: HookName[];
  /** Sites with steering inputs (only those at layers >= the cut's are used). */
  steer?: HookName[];
  lastLogits?: boolean;
  /** Return the present keys/values of layers from the cut on (a prompt pass that generation continues). */
  presents?: boolean;
}

const cuts = new WeakMap<LoadedModel, Map<string, Promise<LayerCut | undefined>>>();

/** The layer a site belongs to (NaN for names that are not per-layer sites). */
export function siteLayer(site: HookName): number {
  return parseHookName(site)?.layer ?? NaN;
}

/** Sites of `list` that a cut at `layer` can hold: those of layers from `layer` on, and the tensor
 * the cut takes as input under another name (resid_post of the layer before). */
export function sitesFrom(model: LoadedModel, list: HookName[] | undefined, layer: number): HookName[] {
  const cutAt = model.map.sites.get(`blocks.${layer}.hook_resid_pre`)?.tensor;
  return [...new Set((list ?? []).filter((s) => siteLayer(s) >= layer || model.map.sites.get(s)?.tensor === cutAt))].sort();
}

/** The latest layer a cut for `site` can start at: its own, or the next for a resid_post that is the next resid_pre. */
export function startLayerOf(model: LoadedModel, site: HookName): number {
  const l = siteLayer(site);
  const next = model.map.sites.get(`blocks.${l + 1}.hook_resid_pre`);
  return next && next.tensor === model.map.sites.get(site)?.tensor ? l + 1 : l;
}

/** The output that continues a past key/value input (past_key_values.0.key -> present.0.key). */
export const presentOf = (past: string): string => past.replace(/^past_key_values/, "present").replace(/^past_/, "present_");

/** Plans the cut at `layer`; undefined where the graph does not separate there. Pure. */
export function planLayerCut(
  model: LoadedModel,
  layer: number,
  edit: CutEdit,
): { plan: EditPlan; keep: Set<number>; residInput: string; presents: Map<string, string> } | undefined {
  const map = model.map;
  const g = model.graph;
  if (layer <= 0 || layer >= model.info.numLayers) return undefined;
  const ref = map.sites.get(`blocks.${layer}.hook_resid_pre`);
  if (!ref || ref.fusedSkipNode !== undefined || ref.tensor.startsWith("introspect/")) return undefined;
  const cutAt = ref.tensor;
  const producer = g.producer.get(cutAt);
  if (!producer) return undefined;
  const steer = sitesFrom(model, edit.steer, layer);
  const patch = sitesFrom(model, edit.patch, layer);
  for (const s of [...steer, ...patch]) if (map.sites.get(s)?.tensor.startsWith("introspect/")) return undefined;
  const plan = planEdit(g, map, { capture: [], steer, patch, lastLogits: edit.lastLogits });
  const stop = new Set([cutAt]);
  const keep = g.between(map.logitsOutput, stop);
  const presents = new Map<string, string>();
  if (edit.presents) {
    for (const p of model.pastInputs) {
      const out = presentOf(p.name);
      if (!model.scanned.outputs.some((o) => o.name === out)) return undefined;
      const part = g.between(out, stop);
      // Layers before the cut: their presents come from the unsteered prompt, not from this graph.
      if (g.dependsOn(out, cutAt)) {
        for (const k of part) keep.add(k);
        presents.set(p.name, out);
      }
    }
  }
  // Nothing before the cut may remain: no residual step or embedding that the cut's residual depends on.
  const before = g.between(cutAt, new Set());
  for (const s of map.steps) if (before.has(s.node) && keep.has(s.node)) return undefined;
  if (keep.has(producer.node)) return undefined;
  // Every tensor the written graph reads must be made inside it, an initializer, or an input.
  const inputs: Array<{ name: string; elemType: number }> = [{ name: cutAt, elemType: map.residDtype }];
  const made = new Set<string>([cutAt]);
  for (const k of keep) for (const o of (plan.changed.get(k) ?? g.node(k)).output) if (o) made.add(o);
  for (const n of plan.added) for (const o of n.output) if (o) made.add(o);
  const newNames = new Set(plan.newInputs.map((i) => i.name));
  const reads = [...[...keep].map((k) => plan.changed.get(k) ?? g.node(k)), ...plan.added].flatMap((n) => n.input);
  for (const x of reads) {
    if (!x || made.has(x) || newNames.has(x) || model.scanned.initializers.has(x)) continue;
    const gi = model.scanned.inputs.find((i) => i.name === x);
    if (!gi) return undefined;
    if (!inputs.some((i) => i.name === x)) inputs.push({ name: x, elemType: elemType(gi) });
  }
  const outputs = new Map<string, string>([["logits", map.logitsOutput]]);
  for (const [past, out] of presents) outputs.set(past, out);
  return {
    plan: { changed: plan.changed, added: plan.added, newInputs: [...inputs, ...plan.newInputs], outputs: outputs as EditPlan["outputs"] },
    keep,
    residInput: cutAt,
    presents,
  };
}

/** The cut session at `layer` for this edit (built once per model, layer and edit, in the edit cache); undefined where refused. */
export function layerCut(model: LoadedModel, layer: number, edit: CutEdit): Promise<LayerCut | undefined> {
  // A merged decoder runs one of two branches depending on the past: a cut of one graph would not
  // follow it, so its passes run whole.
  if (model instanceof MergedDecoder) return Promise.resolve(undefined);
  let mine = cuts.get(model);
  if (!mine) cuts.set(model, (mine = new Map()));
  const key = JSON.stringify([
    layer,
    sitesFrom(model, edit.patch, layer),
    sitesFrom(model, edit.steer, layer),
    !!edit.lastLogits,
    !!edit.presents,
  ]);
  let c = mine.get(key);
  if (!c) {
    c = (async () => {
      const planned = planLayerCut(model, layer, edit);
      if (!planned) return undefined;
      const session = await subgraphSession(model, planned.plan, planned.keep, `layer-cut:${key}`);
      return { layer, session, residInput: planned.residInput, presents: planned.presents };
    })();
    mine.set(key, c);
    c.catch(() => mine.delete(key));
  }
  return c;
}

/** Releases the cut sessions of a model (dispose). */
export async function releaseLayerCuts(model: LoadedModel): Promise<void> {
  const mine = cuts.get(model);
  if (!mine) return;
  cuts.delete(model);
  for (const c of mine.values()) await c.then((x) => x?.session.release()).catch(() => undefined);
}

/** Start layers of the cuts a runner keeps: `count` evenly spaced layers (0, the full graph, first). */
export function cutLayers(numLayers: number, count: number): number[] {
  const n = Math.max(1, Math.min(numLayers, Math.floor(count)));
  return [...new Set(Array.from({ length: n }, (_, i) => Math.floor((i * numLayers) / n)))];
}

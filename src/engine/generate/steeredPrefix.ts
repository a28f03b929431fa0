// A steered prompt pass that starts at the steered layer. Steering at layer L leaves everything
// before L as the unsteered prompt computed it, so when the same prompt went through unsteered
// (the steering panel's kept unsteered run, or an earlier decoder), its residual entering L and
// its keys/values of layers 0..L-1 are remembered here, and the steered pass runs only the layer
// cut from L (src/engine/patch/layerCut.ts, built once in the edit cache) on that residual.
import type * as ort from "onnxruntime-node";
import type { KvCache, LoadedModel } from "../model/loaded";
import { float32Tensor, int64Tensor, zerosTensor } from "../model/tensors";
import { steerInput } from "../surgery/surgery";
import type { HookName } from "../types";
import { layerCut, startLayerOf } from "../patch/layerCut";

interface Remembered {
  /** Every layer's present keys/values, by past input name. */
  kv: Map<string, ort.Tensor>;
  /** The residual entering each layer ([1, seq, d], the model's residual type). */
  resid: Map<number, ort.Tensor>;
  bytes: number;
}

/** Prompts remembered per model, and the bytes of residuals they may hold. */
const MAX_PROMPTS = 4;
export const MAX_REMEMBERED_BYTES = 64 * 2 ** 20;

const memo = new WeakMap<LoadedModel, Map<string, Remembered>>();

/** Output names (resid_pre of every layer) an unsteered prompt pass fetches to be remembered; none when too large. */
export function residOutputs(model: LoadedModel, outputs: Map<HookName, string>, tokens: number): string[] {
  const L = model.info.numLayers;
  if (tokens * model.info.dModel * 4 * L > MAX_REMEMBERED_BYTES) return [];
  const names: string[] = [];
  for (let l = 1; l < L; l++) {
    const o = outputs.get(`blocks.${l}.hook_resid_pre`);
    if (o) names.push(o);
  }
  return names;
}

/** Remembers an unsteered prompt pass from the start: its keys/values and fetched residuals. */
export function rememberPrompt(
  model: LoadedModel,
  ids: number[],
  kv: Map<string, ort.Tensor>,
  raw: ort.InferenceSession.OnnxValueMapType,
  outputs: Map<HookName, string>,
): void {
  const resid = new Map<number, ort.Tensor>();
  let bytes = 0;
  for (let l = 1; l < model.info.numLayers; l++) {
    const t = raw[outputs.get(`blocks.${l}.hook_resid_pre`) ?? ""] as ort.Tensor | undefined;
    if (!t) continue;
    resid.set(l, t);
    bytes += t.data.length * 4;
  }
  if (resid.size === 0) return;
  let mine = memo.get(model);
  if (!mine) memo.set(model, (mine = new Map()));
  const key = ids.join(",");
  mine.delete(key);
  mine.set(key, { kv, resid, bytes });
  let total = [...mine.values()].reduce((a, r) => a + r.bytes, 0);
  while (mine.size > MAX_PROMPTS || (mine.size > 1 && total > MAX_REMEMBERED_BYTES)) {
    const oldest = mine.keys().next().value as string;
    total -= mine.get(oldest)!.bytes;
    mine.delete(oldest);
  }
}

/** Forgets a model's remembered prompts (tests). */
export function forgetPrompts(model: LoadedModel): void {
  memo.delete(model);
}

/**
 * The steered prompt pass from the lowest steered layer, when the prompt was remembered and the
 * graph can be cut there; undefined otherwise (the caller runs the whole graph). Returns the last
 * position's logits and the full key/value cache (layers before the cut from the remembered run).
 */
export async function steeredFromLayer(
  model: LoadedModel,
  ids: number[],
  add: Map<HookName, Float32Array>,
  prepare: HookName[],
  lastLogits: boolean,
): Promise<{ logits: ort.Tensor; cache: KvCache } | undefined> {
  const r = memo.get(model)?.get(ids.join(","));
  if (!r || add.size === 0) return undefined;
  const layer = Math.min(...[...add.keys()].map((s) => startLayerOf(model, s)));
  if (!(layer >= 1) || !r.resid.has(layer)) return undefined;
  const cut = await layerCut(model, layer, { steer: prepare, lastLogits, presents: true });
  if (!cut) return undefined;
  const inputs = new Set(cut.session.inputNames);
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = { [cut.residInput]: r.resid.get(layer)! };
  if (inputs.has("input_ids")) feeds.input_ids = int64Tensor(ids, [1, n]);
  if (inputs.has("attention_mask")) feeds.attention_mask = int64Tensor(new Array(n).fill(1), [1, n]);
  if (inputs.has("position_ids"))
    feeds.position_ids = int64Tensor(
      Array.from({ length: n }, (_, i) => i),
      [1, n],
    );
  for (const p of model.pastInputs) if (inputs.has(p.name)) feeds[p.name] = zerosTensor(p.elemType, [1, p.heads, 0, p.headDim]);
  for (const site of prepare) {
    if (!inputs.has(steerInput(site))) continue;
    const v = add.get(site);
    feeds[steerInput(site)] = v ? float32Tensor(v, [v.length]) : float32Tensor(new Float32Array(1), [1]);
  }
  const raw = await cut.session.run(feeds, [model.map.logitsOutput, ...cut.presents.values()]);
  const tensors = new Map<string, ort.Tensor>();
  for (const p of model.pastInputs) {
    const out = cut.presents.get(p.name);
    const t = out ? (raw[out] as ort.Tensor) : r.kv.get(p.name);
    if (!t) return undefined;
    tensors.set(p.name, t);
  }
  return { logits: raw[model.map.logitsOutput] as ort.Tensor, cache: { length: n, tensors } };
}

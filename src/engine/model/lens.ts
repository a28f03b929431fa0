// Logit lens: each layer's residual through the model's OWN final norm and unembedding.
//
// Choice: we cut the model's tail (the nodes between the last residual tensor and the logits output:
// final norm, lm_head, any reshape/cast/softcap) into a small separate ONNX graph whose input is the
// residual. It shares the weights (external references, like every edited graph), so it costs no
// memory for lm_head, runs only norm+unembedding per layer, and is exact whatever the norm type
// (LayerNorm, RMSNorm, fused SkipSimplifiedLayerNormalization fed a zero skip) because it IS the
// model's own subgraph. Re-running the full model per layer would cost numLayers forward passes.
import * as ort from "onnxruntime-node";
import type { NodeProto } from "onnx-buf";
import { create } from "@bufbuild/protobuf";
import { NodeProtoSchema } from "onnx-buf";
import type { ActivationTensor, CancelToken, HookName } from "../types";
import { IntrospectError, throwIfCancelled } from "../types";
import { elemType } from "../onnx/modelFile";
import type { EditPlan } from "../surgery/surgery";
import { materialiseEdit } from "./editCache";
import type { LoadedModel } from "./loaded";
import { int64Tensor, toActivation } from "./tensors";
import { f32ToF16 } from "../half";

const LENS_IN = "introspect/lens/resid";
const LENS_ZERO = "introspect/lens/zero_skip";

interface Tail {
  session: ort.InferenceSession;
  extraInputs: Array<{ name: string; elemType: number }>;
  needsZeroSkip: boolean;
}

const tails = new WeakMap<LoadedModel, Promise<Tail>>();

export function buildTailPlan(model: LoadedModel): { plan: EditPlan; keep: Set<number>; needsZeroSkip: boolean } {
  const g = model.graph;
  const map = model.map;
  const last = map.steps[map.steps.length - 1];
  const fusedFinal = last.fused && g.node(last.node).output[0] === map.finalNormOut;
  const stop = new Set(fusedFinal ? [last.input, last.branch] : [map.finalResid]);
  const keep = g.between(map.logitsOutput, stop);
  const changed = new Map<number, NodeProto>();
  const forbidden = new Set(map.steps.map((s) => s.node));
  if (fusedFinal) forbidden.delete(last.node);
  for (const k of keep) {
    if (forbidden.has(k))
      throw new IntrospectError(
        "internal",
        "The logit lens could not separate the final norm and unembedding from the layers of this graph.",
      );
    const n = g.node(k);
    const ins = n.input.map((x) => (stop.has(x) ? (fusedFinal && x === last.branch ? LENS_ZERO : LENS_IN) : x));
    if (ins.some((x, i) => x !== n.input[i])) changed.set(k, create(NodeProtoSchema, { ...n, input: ins, output: [...n.output] }));
  }
  const produced = new Set([...keep].flatMap((k) => g.node(k).output));
  const newInputs = [{ name: LENS_IN, elemType: map.residDtype }];
  if (fusedFinal) newInputs.push({ name: LENS_ZERO, elemType: map.residDtype });
  for (const k of keep) {
    for (const x of (changed.get(k) ?? g.node(k)).input) {
      if (!x || produced.has(x) || x.startsWith("introspect/") || model.scanned.initializers.has(x) || newInputs.some((i) => i.name === x))
        continue;
      const gi = model.scanned.inputs.find((i) => i.name === x);
      if (!gi)
        throw new IntrospectError(
          "internal",
          `The logit lens tail of this graph needs the inner tensor ${x}; the lens is not available for it.`,
        );
      newInputs.push({ name: x, elemType: elemType(gi) });
    }
  }
  const plan: EditPlan = { changed, added: [], newInputs, outputs: new Map([["logits", map.logitsOutput]]) };
  return { plan, keep, needsZeroSkip: fusedFinal };
}

/** A session on a cut of the model's graph (`keep` nodes plus `plan`), written to the edit cache. */
export async function subgraphSession(model: LoadedModel, plan: EditPlan, keep: Set<number>, key: string): Promise<ort.InferenceSession> {
  const file = materialiseEdit(
    model.scanned,
    model.bytes,
    plan,
    key,
    model.fingerprint,
    model.options.cacheDir,
    { keep },
    model.options.editLocation === "cache",
    model.options.splitWeightsAbove,
  );
  if (file.written) model.writtenFiles.push(file.path);
  return model.createSession(file.path, file.externalData);
}

async function tail(model: LoadedModel): Promise<Tail> {
  let t = tails.get(model);
  if (!t) {
    t = (async () => {
      const { plan, keep, needsZeroSkip } = buildTailPlan(model);
      const session = await subgraphSession(model, plan, keep, "logit-lens-tail");
      return { session, extraInputs: plan.newInputs.filter((i) => !i.name.startsWith("introspect/")), needsZeroSkip };
    })();
    tails.set(model, t);
    t.catch(() => tails.delete(model));
  }
  return t;
}

export function residTensor(a: ActivationTensor, dtype: number): ort.Tensor {
  const dims = a.dims.length === 2 ? [1, ...a.dims] : a.dims;
  if (dtype === 10) {
    const h = new Uint16Array(a.data.length);
    for (let i = 0; i < h.length; i++) h[i] = f32ToF16(a.data[i]);
    return new ort.Tensor("float16", h, dims);
  }
  return new ort.Tensor("float32", a.data, dims);
}

/** Logits [seq, vocab] that the model's own head gives for a residual [seq, d] (or [1, seq, d]). */
export async function unembedResidual(model: LoadedModel, resid: ActivationTensor): Promise<ActivationTensor> {
  const t = await tail(model);
  const x = residTensor(resid, model.map.residDtype);
  const [B, S] = x.dims as number[];
  const feeds: Record<string, ort.Tensor> = { [LENS_IN]: x };
  if (t.needsZeroSkip) feeds[LENS_ZERO] = residTensor({ dims: [...x.dims], data: new Float32Array(x.data.length) }, model.map.residDtype);
  for (const i of t.extraInputs) {
    // Graph inputs the tail reads only for shapes: give them the shapes of the prompt.
    if (i.name === "attention_mask") feeds[i.name] = int64Tensor(new Array(B * S).fill(1), [B, S]);
    else if (i.name === "position_ids")
      feeds[i.name] = int64Tensor(
        Array.from({ length: B * S }, (_, k) => k % S),
        [B, S],
      );
    else feeds[i.name] = int64Tensor(new Array(B * S).fill(0), [B, S]);
  }
  const out = await t.session.run(feeds);
  const logits = toActivation(out.logits as ort.Tensor);
  return logits.dims[0] === 1 && resid.dims.length === 2 ? { dims: logits.dims.slice(1), data: logits.data } : logits;
}

export interface LensResult {
  sites: HookName[];
  seq: number;
  k: number;
  /** [sites, seq, k] token ids, best first. */
  topIds: Int32Array;
  /** [sites, seq, k] probabilities (softmax over the vocabulary). */
  topProbs: Float32Array;
  /** Per site, the probability of `targets[pos]` at each position (when targets were given). */
  targetProbs?: Float32Array;
}

/**
 * Logit lens over `sites` (default: every layer's resid_post). `input` is a prompt's ids (a forward
 * pass captures the residuals) or captures already made (one prompt, [seq, d] each).
 */
export async function logitLens(
  model: LoadedModel,
  input: number[] | Map<HookName, ActivationTensor>,
  opts: { sites?: HookName[]; k?: number; targets?: number[]; cancel?: CancelToken } = {},
): Promise<LensResult> {
  const sites = opts.sites ?? model.expandSites(["resid_post"]);
  const caps = Array.isArray(input) ? (await model.run({ ids: input, capture: sites, cancel: opts.cancel })).captures : input;
  const k = Math.min(opts.k ?? 5, model.info.vocabSize);
  const first = caps.get(sites[0]);
  if (!first) throw new IntrospectError("bad-input", `No capture for ${sites[0]}.`);
  const S = first.dims[first.dims.length - 2];
  const topIds = new Int32Array(sites.length * S * k);
  const topProbs = new Float32Array(sites.length * S * k);
  const targetProbs = opts.targets ? new Float32Array(sites.length * S) : undefined;
  for (let si = 0; si < sites.length; si++) {
    throwIfCancelled(opts.cancel);
    const r = caps.get(sites[si]);
    if (!r) throw new IntrospectError("bad-input", `No capture for ${sites[si]}.`);
    const logits = await unembedResidual(model, r);
    const V = logits.dims[logits.dims.length - 1];
    for (let p = 0; p < S; p++) {
      const row = logits.data.subarray(p * V, (p + 1) * V);
      let max = -Infinity;
      for (const v of row) if (v > max) max = v;
      let z = 0;
      for (const v of row) z += Math.exp(v - max);
      const best: number[] = [];
      for (let i = 0; i < V; i++) {
        if (best.length < k || row[i] > row[best[best.length - 1]]) {
          best.push(i);
          best.sort((a, b) => row[b] - row[a]);
          if (best.length > k) best.pop();
        }
      }
      best.forEach((id, j) => {
        topIds[(si * S + p) * k + j] = id;
        topProbs[(si * S + p) * k + j] = Math.exp(row[id] - max) / z;
      });
      if (targetProbs && opts.targets![p] !== undefined) targetProbs[si * S + p] = Math.exp(row[opts.targets![p]] - max) / z;
    }
  }
  return { sites, seq: S, k, topIds, topProbs, targetProbs };
}

/** Top-k entries of an activation by |value|: e.g. the most active neurons of mlp.hook_post [seq, dMlp]. */
export function topNeurons(t: ActivationTensor, k: number, position?: number): Array<{ position: number; neuron: number; value: number }> {
  const width = t.dims[t.dims.length - 1];
  const rows = t.data.length / width;
  const out: Array<{ position: number; neuron: number; value: number }> = [];
  for (let p = 0; p < rows; p++) {
    if (position !== undefined && p !== position) continue;
    for (let n = 0; n < width; n++) {
      const v = t.data[p * width + n];
      if (out.length < k || Math.abs(v) > Math.abs(out[out.length - 1].value)) {
        out.push({ position: p, neuron: n, value: v });
        out.sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
        if (out.length > k) out.pop();
      }
    }
  }
  return out;
}

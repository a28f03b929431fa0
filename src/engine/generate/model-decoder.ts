// Decoders over the engine's LoadedModel: incremental with past_key_values when the graph has
// them, full recompute otherwise. Steering is fed as the model's steering inputs at every pass.
//
// A decoder needs only the last position's logits, so by default its passes run the edited
// session variant that unembeds only the last position (`lastLogits`, as the patching runner
// does): for a 64-token prompt on GPT-2 small that skips about a third of the arithmetic, and the
// last row is the same. That variant cannot be asked of LoadedModel.run/decodeStep, so the feeds
// are built here, following decodeStep's (and the patch runner's) conventions.

import type * as ort from "onnxruntime-node";
import type { LoadedModel, KvCache } from "../model/loaded";
import { float32Tensor, int64Tensor, toActivation, zerosTensor } from "../model/tensors";
import { steerInput } from "../surgery/surgery";
import type { HookName } from "../types";
import type { SteerAdditions } from "../steer/vector";
import type { Decoder, DecoderFactory } from "./decoder";
import { IntrospectError, throwIfCancelled, type CancelToken } from "../types";
import { checkInterventions, expertFeeds, topKRefusal, type ExpertIntervention } from "../experts/interventions";
import { expertRouting } from "../experts/routing";
import { rememberPrompt, residOutputs, steeredFromLayer } from "./steeredPrefix";
import { presentOf } from "../patch/layerCut";

export interface ModelDecoderOptions {
  /**
   * Sites that get steering inputs in every decoder of this factory, steered or not, so that the
   * unsteered and steered runs (and every slider position) share one edited session.
   */
  prepare?: HookName[];
  /** Use past_key_values when the graph has them (default true); false forces full recompute. */
  useKvCache?: boolean;
  /** Unembed only the last position (default true); false runs the full-logits session. */
  lastLogitsOnly?: boolean;
  /** MoE layers that get expert-intervention inputs in every decoder (one session for all settings). */
  prepareExperts?: number[];
  /** Start a steered prompt pass at the steered layer when the same prompt went through unsteered
   * before (steeredPrefix.ts; default true); false always runs the whole graph. */
  fromSteeredLayer?: boolean;
}

function lastRow(logits: { dims: number[]; data: Float32Array }): Float32Array {
  const V = logits.dims[logits.dims.length - 1];
  return logits.data.slice(logits.data.length - V);
}

export function modelDecoderFactory(model: LoadedModel, opts: ModelDecoderOptions = {}): DecoderFactory {
  return Object.assign(decoderFactory(model, opts), { contextLength: model.contextLength });
}

function decoderFactory(model: LoadedModel, opts: ModelDecoderOptions): (add: SteerAdditions, experts?: ExpertIntervention[]) => Decoder {
  const useKv = (opts.useKvCache ?? true) && model.info.hasKvCache;
  const variant = { lastLogits: opts.lastLogitsOnly ?? true };
  return (add: SteerAdditions, experts: ExpertIntervention[] = []): Decoder => {
    checkInterventions(model.graph, model.map, model.info.id, experts);
    const expertLayers = [...new Set([...(opts.prepareExperts ?? []), ...experts.map((x) => x.layer)])].sort((a, b) => a - b);
    const routings = expertRouting(model.graph, model.map).filter((r) => expertLayers.includes(r.layer));
    const prepare = [...new Set([...(opts.prepare ?? []), ...add.keys()])].sort();
    for (const site of prepare) {
      if (!model.map.sites.has(site))
        throw new IntrospectError("bad-input", `The site ${site} does not exist in this model: steer one of its layers' sites instead.`);
      const v = add.get(site);
      if (v && v.length !== model.info.dModel && !site.includes("mlp.hook_post"))
        throw new IntrospectError(
          "bad-input",
          `The steering vector for ${site} has ${v.length} values; this model's residual stream has ${model.info.dModel}.`,
        );
    }
    const steerFeeds = (): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {};
      for (const site of prepare) {
        const v = add.get(site);
        f[steerInput(site)] = v ? float32Tensor(v, [v.length]) : float32Tensor(new Float32Array(1), [1]);
      }
      return f;
    };

    /** One pass over `ids` after `cache` (none: from the start); logits of the last position. */
    async function pass(ids: number[], cache: KvCache | undefined): Promise<{ row: Float32Array; cache?: KvCache }> {
      const fromStart = useKv && !cache && expertLayers.length === 0 && (opts.fromSteeredLayer ?? true);
      if (fromStart && add.size > 0) {
        const cut = await steeredFromLayer(model, ids, add, prepare, variant.lastLogits);
        if (cut) return { row: lastRow(toActivation(cut.logits)), cache: cut.cache };
      }
      const edited = await model.session(prepare, [], { ...variant, ...(expertLayers.length ? { experts: expertLayers } : {}) });
      const { session } = edited;
      const inputs = new Set(session.inputNames);
      const past = cache?.length ?? 0;
      const n = ids.length;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: int64Tensor(ids, [1, n]),
        ...steerFeeds(),
        ...(expertLayers.length ? expertFeeds(routings, experts, 1, n, past) : {}),
      };
      if (inputs.has("attention_mask")) feeds.attention_mask = int64Tensor(new Array(past + n).fill(1), [1, past + n]);
      if (inputs.has("position_ids"))
        feeds.position_ids = int64Tensor(
          Array.from({ length: n }, (_, i) => past + i),
          [1, n],
        );
      for (const p of model.pastInputs) feeds[p.name] = cache?.tensors.get(p.name) ?? zerosTensor(p.elemType, [1, p.heads, 0, p.headDim]);
      const presents = useKv ? model.pastInputs.map((p) => presentOf(p.name)) : [];
      const remember = fromStart && add.size === 0 ? residOutputs(model, edited.outputs, n) : [];
      let raw: ort.InferenceSession.OnnxValueMapType;
      // The same bookkeeping as LoadedModel's own passes: a session evicted meanwhile is released after this run.
      edited.busy = (edited.busy ?? 0) + 1;
      try {
        raw = await session.run(feeds, [model.map.logitsOutput, ...presents, ...remember]);
      } catch (e) {
        const refused = topKRefusal(model.graph, model.map, model.info.id, experts);
        if (refused) throw refused;
        throw new IntrospectError("internal", `The forward pass failed in onnxruntime: ${(e as Error).message.split("\n")[0]}`);
      } finally {
        edited.busy--;
        if (edited.evicted && edited.busy === 0) void session.release().catch(() => undefined);
      }
      const row = lastRow(toActivation(raw[model.map.logitsOutput] as ort.Tensor));
      if (!useKv) return { row };
      const tensors = new Map<string, ort.Tensor>();
      model.pastInputs.forEach((p, i) => tensors.set(p.name, raw[presents[i]] as ort.Tensor));
      if (remember.length) rememberPrompt(model, ids, tensors, raw, edited.outputs);
      return { row, cache: { length: past + n, tensors } };
    }

    let cache: KvCache | undefined;
    const seq: number[] = [];
    let disposed = false;
    return {
      async feed(ids: number[], cancel?: CancelToken): Promise<Float32Array> {
        if (disposed) throw new IntrospectError("internal", "This decoder was already released.");
        if (ids.length === 0) throw new IntrospectError("bad-input", "Nothing to feed: no tokens.");
        throwIfCancelled(cancel);
        // State changes only after a pass succeeded, so a refused or failed pass leaves the decoder as it was.
        const r = useKv ? await pass(ids, cache) : await pass([...seq, ...ids], undefined);
        if (useKv) cache = r.cache;
        seq.push(...ids);
        return r.row;
      },
      dispose() {
        disposed = true;
        cache = undefined;
      },
    };
  };
}

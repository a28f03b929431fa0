// Decoders over the engine's LoadedModel: incremental with past_key_values when the graph has
// them, full recompute otherwise. Steering is fed as the model's steering inputs at every pass.

import type { LoadedModel, KvCache, SteerSpec } from "../model/loaded";
import type { HookName } from "../types";
import type { SteerAdditions } from "../steer/vector";
import type { Decoder, DecoderFactory } from "./decoder";
import { IntrospectError, throwIfCancelled, type CancelToken } from "../types";

export interface ModelDecoderOptions {
  /**
   * Sites that get steering inputs in every decoder of this factory, steered or not, so that the
   * unsteered and steered runs (and every slider position) share one edited session.
   */
  prepare?: HookName[];
  /** Use past_key_values when the graph has them (default true); false forces full recompute. */
  useKvCache?: boolean;
}

function lastRow(logits: { dims: number[]; data: Float32Array }): Float32Array {
  const V = logits.dims[logits.dims.length - 1];
  return logits.data.slice(logits.data.length - V);
}

export function modelDecoderFactory(model: LoadedModel, opts: ModelDecoderOptions = {}): DecoderFactory {
  const useKv = (opts.useKvCache ?? true) && model.info.hasKvCache;
  return (add: SteerAdditions): Decoder => {
    const prepare = [...new Set([...(opts.prepare ?? []), ...add.keys()])];
    const steer: SteerSpec[] = [...add].map(([site, vector]) => ({ site, vector }));
    const req = { steer, prepare: { steer: prepare } };
    let cache: KvCache | undefined;
    const seq: number[] = [];
    let disposed = false;
    return {
      async feed(ids: number[], cancel?: CancelToken): Promise<Float32Array> {
        if (disposed) throw new IntrospectError("internal", "This decoder was already released.");
        if (ids.length === 0) throw new IntrospectError("bad-input", "Nothing to feed: no tokens.");
        throwIfCancelled(cancel);
        // State changes only after a pass succeeded, so a refused or failed pass leaves the decoder as it was.
        if (useKv) {
          const r = await model.decodeStep([ids], cache, req);
          cache = r.cache;
          seq.push(...ids);
          return lastRow(r.logits);
        }
        const r = await model.run({ ids: [...seq, ...ids], ...req });
        seq.push(...ids);
        return lastRow(r.logits);
      },
      dispose() {
        disposed = true;
        cache = undefined;
      },
    };
  };
}

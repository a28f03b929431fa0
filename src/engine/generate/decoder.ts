// The one thing generation needs from a model: feed tokens, get the next-token logits. The
// adapter from the engine's LoadedModel (KV cache or full recompute) lives in model-decoder.ts;
// tests use small fakes.

import { IntrospectError } from "../types";
import { SteerAdditions } from "../steer/vector";
import type { CancelToken } from "../types";
import type { ExpertIntervention } from "../experts/interventions";

export interface Decoder {
  /**
   * Appends tokens to the sequence (the prompt on the first call, then one token per step) and
   * returns the logits of the last position, one row of vocabulary size. Steering given when
   * the decoder was made is active at every position of every pass. A pass refused because
   * `cancel` is set throws IntrospectError("cancelled") and leaves the decoder as it was (the
   * cached unsteered run relies on that to be continued by the next generation).
   */
  feed(ids: number[], cancel?: CancelToken): Promise<Float32Array>;
  /** Releases cached state (KV tensors). */
  dispose(): void;
}

/** Makes a fresh decoder with the given additions (an empty map: unsteered) and expert interventions. */
export type DecoderFactory = ((steer: SteerAdditions, experts?: ExpertIntervention[]) => Decoder) & {
  /** Positions the model has (config.json max_position_embeddings ...): generation stops there. */
  contextLength?: number;
};

/** How many tokens fit after `promptLength` within the factory's context; refuses a prompt that fills it. */
export function roomFor(make: DecoderFactory, promptLength: number, maxTokens: number): number {
  const limit = make.contextLength;
  if (!limit) return maxTokens;
  if (promptLength >= limit)
    throw new IntrospectError(
      "too-many-tokens",
      `The prompt has ${promptLength} tokens and the model has ${limit} positions, so nothing can be generated after it: shorten the prompt.`,
    );
  return Math.min(maxTokens, limit - promptLength);
}

// A steering sweep: one vector at several strengths and layers, each cell scored on the first
// next-token distribution and continued for a few tokens, to find where a vector works before
// the text degenerates.

import { SteeringVector, atLayer, steerAdditions } from "../steer/vector";
import { CancelToken, IntrospectError, LayerIndex, throwIfCancelled } from "../types";
import { DecoderFactory } from "./decoder";
import { generate } from "./generate";
import { klDivergence, probabilityMass } from "./readout";
import { SamplingOptions } from "./sample";

export type SweepScore =
  /** Probability mass of these token ids on the next token (e.g. the first tokens of a word list). */
  | { kind: "word-probability"; ids: number[] }
  /** KL(steered || unsteered) of the next-token distribution. */
  | { kind: "kl" };

export interface SteeringSweepOptions {
  alphas: number[];
  /** Layers to move the vector to (same site kind); default: the vector's own layer. */
  layers?: LayerIndex[];
  score: SweepScore;
  /** Tokens of continuation per cell (0: score only). */
  maxTokens?: number;
  sampling?: SamplingOptions;
  stopIds?: number[];
  cancel?: CancelToken;
  onCell?: (cell: SweepCell) => void;
}

export interface SweepCell {
  layer: LayerIndex;
  alpha: number;
  score: number;
  tokens: number[];
}

export interface SweepGrid {
  layers: LayerIndex[];
  alphas: number[];
  /** Row-major [layers x alphas]. */
  scores: Float32Array;
  /** Continuations, same order as scores. */
  tokens: number[][];
  /** Score of the unsteered model (alpha 0). */
  baseline: number;
}

export async function steeringSweep(
  make: DecoderFactory,
  prompt: number[],
  vector: SteeringVector,
  opts: SteeringSweepOptions,
): Promise<SweepGrid> {
  if (opts.alphas.length === 0) throw new IntrospectError("bad-input", "A sweep needs at least one strength.");
  const layers = opts.layers ?? [Number(/^blocks\.(\d+)\./.exec(vector.site)![1])];
  const score = (logits: Float32Array, base: Float32Array): number =>
    opts.score.kind === "kl" ? klDivergence(logits, base) : probabilityMass(logits, opts.score.ids);
  const baseDec = make(new Map());
  let base: Float32Array;
  try {
    base = await baseDec.feed(prompt);
  } finally {
    baseDec.dispose();
  }
  const grid: SweepGrid = {
    layers,
    alphas: opts.alphas,
    scores: new Float32Array(layers.length * opts.alphas.length),
    tokens: [],
    baseline: score(base, base),
  };
  for (let li = 0; li < layers.length; li++) {
    const v = atLayer(vector, layers[li]);
    for (let ai = 0; ai < opts.alphas.length; ai++) {
      throwIfCancelled(opts.cancel);
      const alpha = opts.alphas[ai];
      const add = steerAdditions([{ vector: v, alpha }]);
      const dec = make(add);
      let first: Float32Array;
      try {
        first = await dec.feed(prompt);
      } finally {
        dec.dispose();
      }
      const tokens: number[] = [];
      if ((opts.maxTokens ?? 0) > 0) {
        for await (const t of generate(make, prompt, {
          maxTokens: opts.maxTokens!,
          steer: add,
          sampling: opts.sampling,
          stopIds: opts.stopIds,
          cancel: opts.cancel,
        })) {
          tokens.push(t.id);
        }
      }
      const cell: SweepCell = { layer: layers[li], alpha, score: score(first, base), tokens };
      grid.scores[li * opts.alphas.length + ai] = cell.score;
      grid.tokens.push(tokens);
      opts.onCell?.(cell);
    }
  }
  return grid;
}

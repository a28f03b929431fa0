// Step-by-step generation with steering active at every step, and the paired mode the
// steering panel shows: unsteered and steered side by side with KL and entropies per step.

import { ActiveVector, SteerAdditions, steerAdditions } from "../steer/vector";
import { CancelToken, IntrospectError, throwIfCancelled } from "../types";
import { Decoder, DecoderFactory } from "./decoder";
import { entropyFromLog, klFromLog, logSoftmax } from "./readout";
import { GREEDY, SamplingOptions, makeSampler } from "./sample";

export interface GenerateOptions {
  maxTokens: number;
  /** Vectors with their strengths (scaled per call), or ready-made additions. */
  steer?: ActiveVector[] | SteerAdditions;
  sampling?: SamplingOptions;
  /** Generation stops after producing one of these (e.g. the tokenizer's EOS ids). */
  stopIds?: number[];
  cancel?: CancelToken;
}

export interface GeneratedToken {
  /** 0 for the first generated token. */
  index: number;
  id: number;
  /** Probability of the chosen token under the (steered) distribution. */
  p: number;
  /** Entropy of the next-token distribution, nats. */
  entropy: number;
}

export function toAdditions(steer: ActiveVector[] | SteerAdditions | undefined): SteerAdditions {
  if (!steer) return new Map();
  return steer instanceof Map ? steer : steerAdditions(steer);
}

function checkPrompt(prompt: number[], maxTokens: number): void {
  if (prompt.length === 0) throw new IntrospectError("bad-input", "The prompt is empty: give at least one token to continue from.");
  if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) {
    throw new IntrospectError("bad-input", `The number of tokens to generate must be a whole number (got ${maxTokens}).`);
  }
}

/**
 * Yields generated tokens one by one. Cancellation is checked between forward passes; a
 * cancelled generation ends with an IntrospectError("cancelled"), and the decoder is released.
 */
export async function* generate(make: DecoderFactory, prompt: number[], opts: GenerateOptions): AsyncGenerator<GeneratedToken, void, void> {
  checkPrompt(prompt, opts.maxTokens);
  const choose = makeSampler(opts.sampling ?? GREEDY);
  const stop = new Set(opts.stopIds ?? []);
  throwIfCancelled(opts.cancel);
  const dec = make(toAdditions(opts.steer));
  try {
    let logits = await dec.feed(prompt);
    for (let i = 0; i < opts.maxTokens; i++) {
      throwIfCancelled(opts.cancel);
      const lp = logSoftmax(logits);
      const id = choose(logits);
      yield { index: i, id, p: Math.exp(lp[id]), entropy: entropyFromLog(lp) };
      if (stop.has(id) || i === opts.maxTokens - 1) break;
      throwIfCancelled(opts.cancel);
      logits = await dec.feed([id]);
    }
  } finally {
    dec.dispose();
  }
}

export interface PairedStep {
  index: number;
  unsteered: GeneratedToken;
  steered: GeneratedToken;
  /**
   * KL(steered || unsteered) of the next-token distributions, nats. Both are taken on the
   * steered run's prefix, so the number measures the steering alone: until the runs first
   * differ that is the unsteered run itself; afterwards a third, unsteered decoder follows
   * the steered tokens.
   */
  kl: number;
  /** Index of the first step where the two runs chose different tokens, once it happened. */
  firstDifference?: number;
}

export interface PairedOptions extends GenerateOptions {
  steer: ActiveVector[] | SteerAdditions;
}

/** Unsteered and steered generation side by side, one step of each per yield. */
export async function* generatePaired(make: DecoderFactory, prompt: number[], opts: PairedOptions): AsyncGenerator<PairedStep, void, void> {
  checkPrompt(prompt, opts.maxTokens);
  const sampling = opts.sampling ?? GREEDY;
  const chooseU = makeSampler(sampling);
  const chooseS = makeSampler(sampling);
  const stop = new Set(opts.stopIds ?? []);
  throwIfCancelled(opts.cancel);
  const decU = make(new Map());
  const decS = make(toAdditions(opts.steer));
  let shadow: Decoder | undefined;
  const steeredSoFar: number[] = [];
  let firstDifference: number | undefined;
  let doneU = false;
  let doneS = false;
  try {
    let logU = await decU.feed(prompt);
    let logS = await decS.feed(prompt);
    let logShadow: Float32Array = logU;
    for (let i = 0; i < opts.maxTokens; i++) {
      throwIfCancelled(opts.cancel);
      const lpU = logSoftmax(logU);
      const lpS = logSoftmax(logS);
      const lpRef = shadow ? logSoftmax(logShadow) : lpU;
      const idU = doneU ? -1 : chooseU(logU);
      const idS = doneS ? -1 : chooseS(logS);
      if (firstDifference === undefined && idU !== idS) firstDifference = i;
      const step: PairedStep = {
        index: i,
        unsteered: { index: i, id: idU, p: idU >= 0 ? Math.exp(lpU[idU]) : 0, entropy: entropyFromLog(lpU) },
        steered: { index: i, id: idS, p: idS >= 0 ? Math.exp(lpS[idS]) : 0, entropy: entropyFromLog(lpS) },
        kl: klFromLog(lpS, lpRef),
        firstDifference,
      };
      yield step;
      if (stop.has(idU)) doneU = true;
      if (stop.has(idS)) doneS = true;
      if ((doneU && doneS) || i === opts.maxTokens - 1) break;
      throwIfCancelled(opts.cancel);
      if (idS >= 0) steeredSoFar.push(idS);
      // One pass at a time: the runs share one session and the machine's cores.
      if (!doneU) logU = await decU.feed([idU]);
      if (!doneS) logS = await decS.feed([idS]);
      if (firstDifference !== undefined && !doneS) {
        // The shadow starts at the first difference with one pass over prompt + steered tokens.
        if (!shadow) {
          shadow = make(new Map());
          logShadow = await shadow.feed([...prompt, ...steeredSoFar]);
        } else {
          logShadow = await shadow.feed([idS]);
        }
      } else if (!shadow) {
        logShadow = logU;
      }
    }
  } finally {
    decU.dispose();
    decS.dispose();
    shadow?.dispose();
  }
}

// Step-by-step generation with steering active at every step, and the paired mode the
// steering panel shows: unsteered and steered side by side with KL and entropies per step.

import { ActiveVector, SteerAdditions, steerAdditions } from "../steer/vector";
import { CancelToken, IntrospectError, throwIfCancelled } from "../types";
import { Decoder, DecoderFactory, roomFor } from "./decoder";
import { entropyFromLog, klFromLog, logSoftmax } from "./readout";
import { GREEDY, SamplingOptions, makeSampler } from "./sample";
import { UnsteeredRun } from "./unsteered";
import type { ExpertIntervention } from "../experts/interventions";

export interface GenerateOptions {
  maxTokens: number;
  /** Vectors with their strengths (scaled per call), or ready-made additions. */
  steer?: ActiveVector[] | SteerAdditions;
  sampling?: SamplingOptions;
  /** Generation stops after producing one of these (e.g. the tokenizer's EOS ids). */
  stopIds?: number[];
  /** Expert interventions of the (steered) run; a paired generation's unsteered side has none. */
  experts?: ExpertIntervention[];
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
  opts = { ...opts, maxTokens: roomFor(make, prompt.length, opts.maxTokens) };
  const choose = makeSampler(opts.sampling ?? GREEDY);
  const stop = new Set(opts.stopIds ?? []);
  throwIfCancelled(opts.cancel);
  const dec = make(toAdditions(opts.steer), opts.experts);
  try {
    let logits = await dec.feed(prompt, opts.cancel);
    for (let i = 0; i < opts.maxTokens; i++) {
      throwIfCancelled(opts.cancel);
      const lp = logSoftmax(logits);
      const id = choose(logits);
      yield { index: i, id, p: Math.exp(lp[id]), entropy: entropyFromLog(lp) };
      if (stop.has(id) || i === opts.maxTokens - 1) break;
      throwIfCancelled(opts.cancel);
      logits = await dec.feed([id], opts.cancel);
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
  /**
   * The unsteered run to read from (e.g. one kept by an `UnsteeredCache` across slider moves),
   * made for the same prompt and sampling; steps it already holds cost no pass. Default: a
   * fresh run over `make(new Map())`, released at the end.
   */
  unsteered?: UnsteeredRun;
}

/** Unsteered and steered generation side by side, one step of each per yield. */
export async function* generatePaired(make: DecoderFactory, prompt: number[], opts: PairedOptions): AsyncGenerator<PairedStep, void, void> {
  checkPrompt(prompt, opts.maxTokens);
  opts = { ...opts, maxTokens: roomFor(make, prompt.length, opts.maxTokens) };
  const sampling = opts.sampling ?? GREEDY;
  if (opts.unsteered && !opts.unsteered.matches(prompt, sampling))
    throw new IntrospectError("internal", "The unsteered run given to a paired generation was made for another prompt or sampling.");
  const chooseS = makeSampler(sampling);
  const stop = new Set(opts.stopIds ?? []);
  const cancel = opts.cancel;
  throwIfCancelled(cancel);
  const runU = opts.unsteered ?? new UnsteeredRun(() => make(new Map()), prompt, sampling);
  const decS = make(toAdditions(opts.steer), opts.experts);
  let shadow: Decoder | undefined;
  const steeredSoFar: number[] = [];
  let firstDifference: number | undefined;
  let doneU = false;
  let doneS = false;
  try {
    // The unsteered step first, as before the unsteered run could be shared: same pass order.
    let u = await runU.step(0, cancel);
    let logS = await decS.feed(prompt, cancel);
    let logShadow: Float32Array | undefined;
    for (let i = 0; i < opts.maxTokens; i++) {
      throwIfCancelled(cancel);
      const lpS = logSoftmax(logS);
      // Until the shadow starts the steered prefix is the unsteered one: compare with its step.
      const lpRef = logSoftmax(shadow && logShadow ? logShadow : u.logits);
      // After its stop token the unsteered side shows id -1 and its last distribution.
      const idU = doneU ? -1 : u.id;
      const idS = doneS ? -1 : chooseS(logS);
      if (firstDifference === undefined && idU !== idS) firstDifference = i;
      const step: PairedStep = {
        index: i,
        unsteered: { index: i, id: idU, p: idU >= 0 ? u.p : 0, entropy: u.entropy },
        steered: { index: i, id: idS, p: idS >= 0 ? Math.exp(lpS[idS]) : 0, entropy: entropyFromLog(lpS) },
        kl: klFromLog(lpS, lpRef),
        firstDifference,
      };
      yield step;
      if (stop.has(idU)) doneU = true;
      if (stop.has(idS)) doneS = true;
      if ((doneU && doneS) || i === opts.maxTokens - 1) break;
      throwIfCancelled(cancel);
      if (idS >= 0) steeredSoFar.push(idS);
      // One pass at a time: the runs share one session and the machine's cores.
      if (!doneU) u = await runU.step(i + 1, cancel);
      if (!doneS) logS = await decS.feed([idS], cancel);
      if (firstDifference !== undefined && !doneS) {
        // The shadow starts at the first difference with one pass over prompt + steered tokens.
        if (!shadow) {
          shadow = make(new Map());
          logShadow = await shadow.feed([...prompt, ...steeredSoFar], cancel);
        } else {
          logShadow = await shadow.feed([idS], cancel);
        }
      }
    }
  } finally {
    if (!opts.unsteered) runU.dispose();
    decS.dispose();
    shadow?.dispose();
  }
}

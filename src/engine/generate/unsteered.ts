// The unsteered side of a paired generation, kept apart so it can outlive one generation. It does
// not depend on the steering, so when the steering panel restarts on every slider move, the next
// generation takes the steps already computed (logits, token, p, entropy) instead of feeding the
// prompt to an unsteered decoder again: a slider move then costs one prompt pass, not two.
//
// Steps are computed in order, one pass each, by one decoder and one sampler that stay with the
// run, so a step taken from here is the step a fresh run would compute. A step is stored only
// once its pass has finished: a cancelled generation leaves every stored step complete, and the
// next generation continues from there. A pass that fails for another reason may leave the
// decoder behind its steps, so the run is marked broken and caches drop it.

import { CancelToken, IntrospectError, throwIfCancelled } from "../types";
import { Decoder } from "./decoder";
import { entropyFromLog, logSoftmax } from "./readout";
import { SamplingOptions, makeSampler } from "./sample";

export interface UnsteeredStep {
  /** The step's next-token logits (what KL is measured against before the runs differ). */
  logits: Float32Array;
  id: number;
  /** Probability of `id`. */
  p: number;
  /** Entropy of the next-token distribution, nats. */
  entropy: number;
}

export class UnsteeredRun {
  private readonly steps: UnsteeredStep[] = [];
  private readonly choose: (logits: ArrayLike<number>) => number;
  private dec?: Decoder;
  private tail: Promise<void> = Promise.resolve();
  private failure?: unknown;

  /** `make` gives the unsteered decoder (called once, at the first step computed). */
  constructor(
    private readonly make: () => Decoder,
    readonly prompt: readonly number[],
    readonly sampling: SamplingOptions,
  ) {
    this.choose = makeSampler(sampling);
  }

  /** Steps computed so far. */
  get length(): number {
    return this.steps.length;
  }

  /** False once a pass failed (other than being refused as cancelled): the run cannot go on. */
  get usable(): boolean {
    return this.failure === undefined;
  }

  /** Bytes held by the stored logits rows. */
  get bytes(): number {
    return this.steps.reduce((s, x) => s + x.logits.byteLength, 0);
  }

  /** Whether this run is the one `prompt` with `sampling` would give. */
  matches(prompt: readonly number[], sampling: SamplingOptions): boolean {
    return samePrompt(this.prompt, prompt) && JSON.stringify(this.sampling) === JSON.stringify(sampling);
  }

  /**
   * Step `i` (0 = the token after the prompt), computing the steps up to it if needed, each pass
   * refused once `cancel` is set. Several generations may ask at once: passes run one at a time.
   */
  async step(i: number, cancel?: CancelToken): Promise<UnsteeredStep> {
    while (this.steps.length <= i) {
      throwIfCancelled(cancel);
      await this.serial(async () => {
        if (this.steps.length <= i) await this.next(cancel);
      });
    }
    return this.steps[i];
  }

  /** Releases the decoder (its KV tensors); stored steps stay readable, new ones cannot be made. */
  dispose(): void {
    this.dec?.dispose();
    this.dec = undefined;
    this.failure ??= new IntrospectError("internal", "This unsteered run was released.");
  }

  private serial(task: () => Promise<void>): Promise<void> {
    const turn = this.tail.then(task);
    this.tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  private async next(cancel?: CancelToken): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const n = this.steps.length;
    this.dec ??= this.make();
    let logits: Float32Array;
    try {
      logits = await this.dec.feed(n === 0 ? [...this.prompt] : [this.steps[n - 1].id], cancel);
    } catch (e) {
      // A refused pass leaves the decoder as it was (Decoder's contract); anything else may not.
      if (!(e instanceof IntrospectError && e.code === "cancelled")) {
        this.failure = e;
        this.dec.dispose();
        this.dec = undefined;
      }
      throw e;
    }
    const lp = logSoftmax(logits);
    const id = this.choose(logits);
    this.steps.push({ logits, id, p: Math.exp(lp[id]), entropy: entropyFromLog(lp) });
  }
}

function samePrompt(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface UnsteeredCacheOptions {
  /** Runs kept (least recently used dropped first); default 4. */
  maxRuns?: number;
  /** Bytes of stored logits over all runs; default 64 MiB. The run in use is kept even when larger. */
  maxBytes?: number;
}

/**
 * Unsteered runs by prompt, sampling and `variant` (whatever else changes the unsteered numbers,
 * e.g. the sites prepared in the edited session). Maximum length and stop ids are not part of the
 * key: they decide where a generation stops reading, not what the steps are.
 */
export class UnsteeredCache {
  private readonly runs = new Map<string, UnsteeredRun>();
  private readonly maxRuns: number;
  private readonly maxBytes: number;

  constructor(opts: UnsteeredCacheOptions = {}) {
    this.maxRuns = Math.max(1, opts.maxRuns ?? 4);
    this.maxBytes = opts.maxBytes ?? 64 * 2 ** 20;
  }

  /** The stored run for this key (if still usable), or a new one from `make`, stored. */
  get(prompt: readonly number[], sampling: SamplingOptions, variant: string, make: () => Decoder): UnsteeredRun {
    const key = JSON.stringify([variant, sampling, prompt]);
    let run = this.runs.get(key);
    if (run && !run.usable) run = undefined;
    this.runs.delete(key); // re-inserted as the newest
    run ??= new UnsteeredRun(make, [...prompt], sampling);
    this.runs.set(key, run);
    this.trim(run);
    return run;
  }

  /**
   * Drops least recently used runs beyond the limits (never `keep`). Runs grow while generating,
   * so this also runs at every `get`; a dropped run still serves the generation holding it.
   */
  trim(keep?: UnsteeredRun): void {
    let bytes = 0;
    for (const r of this.runs.values()) bytes += r.bytes;
    for (const [k, r] of this.runs) {
      if (this.runs.size <= this.maxRuns && bytes <= this.maxBytes) break;
      if (r === keep) continue;
      this.runs.delete(k);
      bytes -= r.bytes;
    }
  }

  get size(): number {
    return this.runs.size;
  }

  clear(): void {
    this.runs.clear();
  }
}

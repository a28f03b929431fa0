// The host side of live steering, without the LSP: a registry of vectors by id, a gate that lets
// one forward pass run at a time, and the paired generation the side panel streams. Kept free of
// vscode-languageserver so the benchmark can time the panel's path (`LiveSteering.sliderLatency`).
// The unsteered run does not depend on the sliders: it is kept per prompt and sampling
// (`UnsteeredCache`), so a slider move feeds the prompt once (steered) instead of twice.
import type { ExpertIntervention } from "../../engine";
import {
  UnsteeredCache,
  generatePaired,
  modelDecoderFactory,
  type Decoder,
  type DecoderFactory,
  type PairedStep,
  type UnsteeredCacheOptions,
} from "../../engine";
import type { LoadedModel } from "../../engine";
import { checkVectorFits, vectorSites, type ActiveVector, type SteeringVector } from "../../engine";
import type { TextTokenizer } from "../../engine";
import { IntrospectError, throwIfCancelled, type CancelToken } from "../../engine";
import type { SteerActive, SteerSampling, SteerStep, SteerVectorInfo } from "../../protocol/lsp";

/** Runs one task at a time; a waiter whose token is cancelled by the time its turn comes never runs. */
export class PassGate {
  private tail: Promise<void> = Promise.resolve();
  run<T>(task: () => Promise<T>, cancel?: CancelToken): Promise<T> {
    const turn = this.tail.then(() => {
      throwIfCancelled(cancel);
      return task();
    });
    this.tail = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }
}

export function vectorInfo(id: string, v: SteeringVector): SteerVectorInfo {
  return {
    id,
    name: v.name,
    site: v.site,
    dim: v.dim,
    modelId: v.modelId,
    method: v.meta.method,
    normalised: v.meta.normalised,
    ...(v.meta.rawNorm !== undefined ? { rawNorm: v.meta.rawNorm } : {}),
    ...(v.layerWeights ? { layerWeights: v.layerWeights } : {}),
    ...(v.meta.source ? { source: v.meta.source } : {}),
  };
}

export interface LiveRun {
  prompt: string;
  /** The prompt's token ids when the caller has them (the benchmark feeds ids); else `prompt` is encoded. */
  ids?: number[];
  vectors: SteerActive[];
  maxTokens: number;
  sampling: SteerSampling;
  /** Expert interventions of the steered side. */
  experts?: ExpertIntervention[];
  stopIds: number[];
  cancel: CancelToken;
  onStep(step: SteerStep): void;
}

export interface LiveOptions {
  /** Keep unsteered runs across generations (default true, 4 prompts, 64 MiB of logits); false: the panel's old path. */
  unsteeredCache?: boolean | UnsteeredCacheOptions;
  /** Unembed only the last position in every pass (default true; the benchmark's "before" row sets false). */
  lastLogitsOnly?: boolean;
  /** Start steered prompt passes at the steered layer from the kept unsteered prompt (default true). */
  fromSteeredLayer?: boolean;
}

/** Cancelled when either is. */
function either(a: CancelToken | undefined, b: CancelToken | undefined): CancelToken | undefined {
  if (!a || !b) return a ?? b;
  return {
    get isCancellationRequested() {
      return a.isCancellationRequested || b.isCancellationRequested;
    },
  };
}

export class LiveSteering {
  readonly vectors = new Map<string, SteeringVector>();
  private readonly gate = new PassGate();
  private readonly unsteered?: UnsteeredCache;
  private readonly lastLogitsOnly: boolean;
  private readonly fromSteeredLayer: boolean;
  private nextId = 1;
  /** In every new id: the panel keeps (and after a window reload restores) ids of earlier hosts and
   * models, and a new vector must never take one of them. */
  private readonly idStamp = Date.now().toString(36);

  constructor(
    readonly model: LoadedModel,
    readonly tok: TextTokenizer,
    opts: LiveOptions = {},
  ) {
    const c = opts.unsteeredCache ?? true;
    if (c !== false) this.unsteered = new UnsteeredCache(c === true ? {} : c);
    this.lastLogitsOnly = opts.lastLogitsOnly ?? true;
    this.fromSteeredLayer = opts.fromSteeredLayer ?? true;
  }

  /** Registers a vector under a fresh id (or `id`, when the client re-sends one after a host restart). */
  add(v: SteeringVector, id?: string): string {
    checkVectorFits(v, this.model.info);
    const key = id ?? `${v.name.replace(/[^\w.@-]+/g, "_")}-${this.idStamp}${this.nextId++}`;
    this.vectors.set(key, v);
    return key;
  }

  get(id: string): SteeringVector {
    const v = this.vectors.get(id);
    if (!v)
      throw new IntrospectError("bad-input", `The model host has no vector "${id}" (it may have restarted): load the vector file again.`);
    return v;
  }

  active(list: SteerActive[]): ActiveVector[] {
    return list.map((a) => ({ vector: this.get(a.id), alpha: a.alpha }));
  }

  /**
   * A decoder factory whose edited session has inputs at every site of `vectors` (strength 0
   * included), so toggling a vector or moving a slider never builds a new session, and whose
   * passes go through the gate: a restarted generation waits at most for the pass in flight.
   */
  factory(vectors: ActiveVector[], cancel?: CancelToken, expertLayers: number[] = []): DecoderFactory {
    const inner = modelDecoderFactory(this.model, {
      prepare: preparedSites(vectors),
      lastLogitsOnly: this.lastLogitsOnly,
      fromSteeredLayer: this.fromSteeredLayer,
      prepareExperts: expertLayers,
    });
    return (add, experts) => this.gated(inner(add, experts), cancel);
  }

  /** Passes through the gate, refused once `cancel` or the pass's own token is set (before the decoder is touched). */
  private gated(d: Decoder, cancel?: CancelToken): Decoder {
    return { feed: (ids, c) => this.gate.run(() => d.feed(ids), either(cancel, c)), dispose: () => d.dispose() };
  }

  /** Paired unsteered/steered generation; resolves with the step count, or throws IntrospectError("cancelled"). */
  async generate(run: LiveRun): Promise<{ steps: number; promptTokens: number; firstTokenMs?: number }> {
    const started = performance.now();
    const ids = run.ids ?? this.tok.encode(run.prompt).map((t) => t.id);
    if (ids.length === 0) throw new IntrospectError("bad-input", "The prompt is empty: type a prompt in the steering panel.");
    const active = this.active(run.vectors);
    const sampling =
      run.sampling.kind === "greedy"
        ? run.sampling
        : { kind: "sample" as const, seed: run.sampling.seed, temperature: run.sampling.temperature };
    let steps = 0;
    let firstTokenMs: number | undefined;
    const text = (id: number) => (id < 0 ? "" : this.tok.tokenText(id));
    // The cached run's decoder is made without the generation's token: each pass carries the
    // token of the generation asking for it, so the run outlives a cancelled generation.
    const sites = preparedSites(active);
    const unsteered = this.unsteered?.get(ids, sampling, JSON.stringify(sites), () =>
      this.gated(
        modelDecoderFactory(this.model, { prepare: sites, lastLogitsOnly: this.lastLogitsOnly, fromSteeredLayer: this.fromSteeredLayer })(
          new Map(),
        ),
      ),
    );
    const experts = run.experts ?? [];
    const expertLayers = [...new Set(experts.map((x) => x.layer))];
    for await (const s of generatePaired(this.factory(active, run.cancel, expertLayers), ids, {
      maxTokens: run.maxTokens,
      steer: active,
      experts,
      sampling,
      stopIds: run.stopIds,
      cancel: run.cancel,
      ...(unsteered ? { unsteered } : {}),
    })) {
      throwIfCancelled(run.cancel);
      firstTokenMs ??= performance.now() - started;
      run.onStep(toStep(s, text));
      steps++;
    }
    return { steps, promptTokens: ids.length, firstTokenMs };
  }

  /**
   * For the benchmark: a live generation is running with `vectors`; the slider moves to
   * `alpha2`; the running one is cancelled (not awaited) and a new one starts. Returns the
   * seconds from the move to the new generation's first step (both runs, KL, entropies).
   */
  async sliderLatency(
    prompt: string | number[],
    vector: SteeringVector,
    alpha1: number,
    alpha2: number,
    stopIds: number[] = [],
  ): Promise<number> {
    const id = this.add(vector);
    const text = typeof prompt === "string" ? { prompt } : { prompt: "", ids: prompt };
    const first = { isCancellationRequested: false };
    let third!: () => void;
    const reached = new Promise<void>((r) => (third = r));
    let n = 0;
    const start = (alpha: number, cancel: CancelToken, onStep: () => void) =>
      this.generate({ ...text, vectors: [{ id, alpha }], maxTokens: 64, sampling: { kind: "greedy" }, stopIds, cancel, onStep }).catch(
        () => undefined,
      );
    const running = start(alpha1, first, () => ++n === 3 && third());
    await Promise.race([reached, running]);
    const t0 = performance.now();
    first.isCancellationRequested = true;
    let done!: (ms: number) => void;
    const firstStep = new Promise<number>((r) => (done = r));
    const second = { isCancellationRequested: false };
    const next = start(alpha2, second, () => done(performance.now() - t0));
    const ms = await Promise.race([firstStep, next.then(() => NaN)]);
    second.isCancellationRequested = true;
    await Promise.all([running, next]);
    this.vectors.delete(id);
    return ms / 1000;
  }
}

/** Sites with steering inputs for `vectors`, sorted: the edited session (and the unsteered numbers) depend on them. */
function preparedSites(vectors: ActiveVector[]): string[] {
  return [...new Set(vectors.flatMap((a) => vectorSites(a.vector).map((s) => s.site)))].sort();
}

function toStep(s: PairedStep, text: (id: number) => string): SteerStep {
  const tok = (t: PairedStep["steered"]) => ({ id: t.id, text: text(t.id), p: t.p, entropy: t.entropy });
  return {
    index: s.index,
    unsteered: tok(s.unsteered),
    steered: tok(s.steered),
    kl: s.kl,
    ...(s.firstDifference !== undefined ? { firstDifference: s.firstDifference } : {}),
  };
}

// A LanguageModelFacade over the engine: the host passes its opened model and tokenizer, plus
// the stores its probe and steering handlers fill, and returns it from
// LanguageHost.languageModel. Predictions are cached by text, since inlay hints are asked for
// again on every scroll and edit.
import type { TextTokenizer } from "../../engine";
import type { CancelToken, ModelInfo } from "../../engine";
import type { RunRequest, RunResult } from "../../engine";
import type { LanguageModelFacade, NextTokenPrediction, TokenProbeValues } from "./facade";

/** What the facade needs of an engine model (engine LoadedModel has these). */
export interface PredictingModel {
  readonly info: ModelInfo;
  run(req: RunRequest): Promise<RunResult>;
}

const storeListeners = new Set<() => void>();

/** Runs `f` whenever a store records something (the features refresh hovers and lenses). */
export function onStoresChanged(f: () => void): () => void {
  storeListeners.add(f);
  return () => storeListeners.delete(f);
}

function storesChanged(): void {
  for (const f of storeListeners) f();
}

/** Values of the last probe of each text, per token; the probe handler records, the hover reads. */
export class ProbeValueStore {
  private readonly byText = new Map<string, TokenProbeValues[]>();
  constructor(private readonly limit = 32) {}
  record(text: string, perToken: TokenProbeValues[]): void {
    this.byText.delete(text);
    this.byText.set(text, perToken);
    while (this.byText.size > this.limit) this.byText.delete(this.byText.keys().next().value as string);
    storesChanged();
  }
  get(text: string, tokenIndex: number): TokenProbeValues | undefined {
    return this.byText.get(text)?.[tokenIndex];
  }
}

/** Vectors built from contrast blocks; the steering handler records, the code lenses read. */
export class BuiltVectorStore {
  private readonly ids = new Map<string, string>();
  record(uri: string, blockName: string, vectorId: string): void {
    this.ids.set(`${uri}\n${blockName}`, vectorId);
    storesChanged();
  }
  get(uri: string, blockName: string): { id: string } | undefined {
    const id = this.ids.get(`${uri}\n${blockName}`);
    return id === undefined ? undefined : { id };
  }
}

export interface EngineFacadeOptions {
  model: PredictingModel;
  tokenizer: TextTokenizer;
  probes?: ProbeValueStore;
  vectors?: BuiltVectorStore;
  knownModels?: () => string[];
}

const PREDICTION_CACHE = 256;

export function createEngineFacade(o: EngineFacadeOptions): LanguageModelFacade {
  const predictions = new Map<string, Promise<NextTokenPrediction | undefined>>();
  return {
    info: () => o.model.info,
    tokenize: (text) => o.tokenizer.encode(text),
    predictNext(text: string, cancel: CancelToken) {
      const hit = predictions.get(text);
      if (hit) return hit;
      const p = predict(o, text, cancel);
      predictions.set(text, p);
      // A cancelled or failed prediction is not cached, so the next request retries.
      p.then((r) => r === undefined && predictions.delete(text)).catch(() => predictions.delete(text));
      while (predictions.size > PREDICTION_CACHE) predictions.delete(predictions.keys().next().value as string);
      return p;
    },
    probeValues: o.probes ? (text, i) => o.probes!.get(text, i) : undefined,
    builtVector: o.vectors ? (uri, name) => o.vectors!.get(uri, name) : undefined,
    knownModels: o.knownModels,
  };
}

async function predict(o: EngineFacadeOptions, text: string, cancel: CancelToken): Promise<NextTokenPrediction | undefined> {
  const ids = o.tokenizer.encode(text).map((t) => t.id);
  if (ids.length === 0 || cancel.isCancellationRequested) return undefined;
  const { logits } = await o.model.run({ ids, cancel });
  const vocab = logits.dims[logits.dims.length - 1];
  const row = logits.data.subarray(logits.data.length - vocab);
  let best = 0;
  for (let i = 1; i < vocab; i++) if (row[i] > row[best]) best = i;
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += Math.exp(row[i] - row[best]);
  return { id: best, text: o.tokenizer.tokenText(best), prob: 1 / sum };
}

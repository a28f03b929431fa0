// One engine model per host model, shared by whoever needs the engine (the probe handler, the
// prompt-file features' next-token hints): each engine LoadedModel holds its own onnxruntime
// sessions and weights, so opening one per feature would multiply the memory for nothing.
import { openModel, type LoadedModel } from "../engine";
import { loadTokenizer, type TextTokenizer } from "../engine";
import { IntrospectError, type ModelState } from "../engine";
import type { LoadedModel as HostModel } from "./hostModel";

export interface EngineModelAccess {
  /**
   * The engine model of the host's current model, opened on the first call and kept until the
   * configured model changes. `retry` ends the sentence shown when no model is loaded
   * (e.g. "probe again").
   */
  get(retry?: string): Promise<LoadedModel>;
  /** The engine model if it is open for the current host model; never starts opening one. */
  current(): LoadedModel | undefined;
  /** The model's tokenizer (loaded once per engine model). */
  tokenizer(model: LoadedModel): Promise<TextTokenizer>;
  /** The loaded tokenizer of `current()`, if both are ready. */
  currentTokenizer(): TextTokenizer | undefined;
}

export interface EngineModelHost {
  getModel(): HostModel | undefined;
  getState(): ModelState;
  /** Runs once a newly opened engine model and its tokenizer are ready. */
  onOpened?(model: LoadedModel): void;
}

export function createEngineModelAccess(host: EngineModelHost): EngineModelAccess {
  let engine: { forModel: HostModel; model: Promise<LoadedModel>; opened?: LoadedModel } | undefined;
  const tokenizers = new WeakMap<LoadedModel, { promise: Promise<TextTokenizer>; ready?: TextTokenizer }>();

  const tokenizer = (model: LoadedModel): Promise<TextTokenizer> => {
    let t = tokenizers.get(model);
    if (!t) {
      const entry: { promise: Promise<TextTokenizer>; ready?: TextTokenizer } = { promise: loadTokenizer(model.resolved.folder) };
      entry.promise.then((tok) => (entry.ready = tok)).catch(() => tokenizers.delete(model));
      tokenizers.set(model, (t = entry));
    }
    return t.promise;
  };

  function get(retry = "try again"): Promise<LoadedModel> {
    const current = host.getModel();
    if (!current) {
      const s = host.getState();
      return Promise.reject(
        new IntrospectError(
          "model-not-found",
          s.kind === "loading"
            ? `The model is still loading: wait for the status bar to show it, then ${retry}.`
            : s.kind === "failed"
              ? `The model could not be loaded (${s.reason}): fix introspect.model, then ${retry}.`
              : `No model is loaded: set introspect.model to a model folder, then ${retry}.`,
        ),
      );
    }
    if (engine?.forModel !== current) {
      const old = engine;
      const entry: NonNullable<typeof engine> = {
        forModel: current,
        model: openModel(current.onnxFile, {
          intraOpThreads: threads(),
          warm: false,
          executionProvider: current.executionProvider,
          ...spinning(),
        }),
      };
      engine = entry;
      entry.model.then(
        async (m) => {
          entry.opened = m;
          await tokenizer(m).catch(() => undefined);
          if (engine === entry) host.onOpened?.(m);
        },
        // A failed open is retried on the next call rather than remembered.
        () => {
          if (engine === entry) engine = undefined;
        },
      );
      if (old) void old.model.then((m) => m.dispose()).catch(() => undefined);
    }
    return engine.model;
  }

  const current = (): LoadedModel | undefined => (engine && engine.forModel === host.getModel() ? engine.opened : undefined);

  return {
    get,
    current,
    tokenizer,
    currentTokenizer() {
      const m = current();
      return m ? tokenizers.get(m)?.ready : undefined;
    },
  };
}

/** onnxruntime intra-op threads: INTROSPECT_THREADS when set, else onnxruntime's choice. */
function threads(): number | undefined {
  const n = Number(process.env.INTROSPECT_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * INTROSPECT_ALLOW_SPINNING=0 or 1: whether onnxruntime's threads spin between operators or sleep;
 * unset leaves the engine's default (they sleep: SessionOptions.allowSpinning).
 */
function spinning(): { allowSpinning?: boolean } {
  const v = process.env.INTROSPECT_ALLOW_SPINNING;
  return v === "0" ? { allowSpinning: false } : v === "1" ? { allowSpinning: true } : {};
}

/** The same thread count, for other models the host opens (a comparison's second model). */
export const engineThreads = threads;

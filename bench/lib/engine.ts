// The Introspect side: a thin adapter over src/engine so each figure asks for one operation
// and gets either a function or the reason it cannot be measured yet.

import {
  generate,
  loadTokenizer,
  makeVector,
  modelDecoderFactory,
  modelPatchRunner,
  openModel,
  patchingSweep,
  type LoadedModel,
} from "../../src/engine";
import { LiveSteering } from "../../src/server/handlers/steerLive";
import { THREADS, passiveWaiting } from "./ort";

export interface EngineModel {
  /** One forward of the unmodified path through the engine (no sites, no steering). */
  plain(ids: number[]): Promise<void>;
  /** One forward with every resid_pre/mid/post and mlp.hook_post captured. */
  captureAll?(ids: number[]): Promise<void>;
  /** Residual-stream (resid_pre) patching sweep; logit differences [layer][position index]. */
  sweep?(spec: SweepSpec, opts?: { layerCuts?: number }): Promise<SweepOutcome>;
  /** Greedy generation with past_key_values; `steer` adds vector*1 to resid_post of a layer. */
  /** `useKvCache: false` recomputes the whole sequence every step (graphs without past_key_values). */
  generate?(prompt: number[], newTokens: number, steer?: SteerSpec, useKvCache?: boolean): Promise<number[]>;
  /**
   * From a slider change (new steering strength) to the first steered token, with generation running.
   * `panel`: the steering panel's path (paired unsteered/steered generation in the host's
   * LiveSteering: the unsteered run kept across moves, last-position logits); `panel-before`: the
   * same as it was before those two (prompt fed twice per move, every position unembedded);
   * `steered-only`: a steered generation alone with full logits (what this figure measured before).
   */
  sliderToFirstToken?(prompt: number[], steer: SteerSpec, path?: SliderPath): Promise<number>;
  close(): Promise<void>;
}

export interface SweepSpec {
  clean: number[];
  corrupted: number[];
  layers: number[];
  positions: number[];
  correct: number;
  wrong: number;
}

export interface SweepOutcome {
  logitDiff: number[][];
  cellsRun: number;
  cellsSkipped: number;
  forwardPasses: number;
}

export type SliderPath = "panel" | "panel-full-graph" | "panel-before" | "steered-only";

export interface SteerSpec {
  layer: number;
  vector: Float32Array;
}

/** Engine open options the bench varies: the variant (q4) and how many edited sessions stay open
 * (1 at 1B, where each holds the weights). */
export interface EngineOpen {
  variant?: string;
  maxSessions?: number;
  /** The engine's splitWeightsAbove (0: large weights written whole, the before of that change). */
  splitWeightsAbove?: number;
}

export interface EngineApi {
  open(modelPath: string, opts?: EngineOpen): Promise<EngineModel>;
}

export interface EngineStatus {
  api?: EngineApi;
  reason?: string;
}

/** Patched cells per forward pass in the sweep figure. */
export const SWEEP_BATCH = 32;

let cached: EngineStatus | undefined;

/** Wraps the engine's openModel; a reason instead when the engine is not there. */
export async function loadEngine(): Promise<EngineStatus> {
  if (cached) return cached;
  if (typeof openModel !== "function") return (cached = { reason: "the engine exports no openModel" });
  const open = async (modelPath: string, opts: EngineOpen = {}) =>
    wrap(await openModel(modelPath, { intraOpThreads: THREADS, ...opts, ...(passiveWaiting() ? { allowSpinning: false } : {}) }));
  return (cached = { api: { open } });
}

function wrap(model: LoadedModel): EngineModel {
  // The steering panel's host object, one per variant (the tokenizer only names tokens here).
  const liveOf = (now: boolean, fromSteeredLayer = now) => {
    let l: Promise<LiveSteering> | undefined;
    const opts = { unsteeredCache: now, lastLogitsOnly: now, fromSteeredLayer };
    return () => (l ??= loadTokenizer(model.resolved.folder).then((tok) => new LiveSteering(model, tok, opts)));
  };
  const panel = liveOf(true);
  const before = liveOf(false);
  const fullGraph = liveOf(true, false);
  const sitesAll = model.expandSites(["resid_pre", "resid_mid", "resid_post", "mlp_post"]);
  const steerSite = (layer: number) => `blocks.${layer}.hook_resid_post`;
  return {
    async plain(ids) {
      await model.run({ ids });
    },
    async captureAll(ids) {
      await model.run({ ids, capture: sitesAll });
    },
    async sweep(spec, opts = {}) {
      const sites = spec.layers.map((l) => `blocks.${l}.hook_resid_pre`);
      const r = await patchingSweep(
        modelPatchRunner(model, sites, opts),
        {
          cleanIds: spec.clean,
          corruptIds: spec.corrupted,
          correct: spec.correct,
          wrong: spec.wrong,
          sites: ["hook_resid_pre"],
          layers: spec.layers,
          positions: spec.positions,
        },
        // Pinned (the engine's default may change): the extension's introspect.patch.batchSize default.
        { extra: ["logit-diff"], batchSize: SWEEP_BATCH },
      );
      const g = r.grids.hook_resid_pre!.logitDiff!;
      const P = spec.positions.length;
      const logitDiff = spec.layers.map((_, li) => Array.from(g.subarray(li * P, (li + 1) * P)));
      return { logitDiff, cellsRun: r.cellsRun, cellsSkipped: r.cellsSkipped, forwardPasses: r.forwardPasses };
    },
    async generate(prompt, newTokens, steer, useKvCache = true) {
      // One factory per call prepared for the steering site: the unsteered run uses the same edited
      // session with a zero vector, as the steering panel does, so the two differ only by the vector.
      const site = steerSite(steer?.layer ?? Math.floor(model.info.numLayers / 2));
      const factory = modelDecoderFactory(model, { prepare: [site], useKvCache });
      const add = new Map(steer ? [[site, steer.vector]] : []);
      const out: number[] = [];
      for await (const t of generate(factory, prompt, { maxTokens: newTokens, steer: add })) out.push(t.id);
      return out;
    },
    async sliderToFirstToken(prompt, steer, path = "panel") {
      // A generation is running; the slider moves; the running one is cancelled (not awaited) and a
      // new one starts with the new strength. Timed: move -> first token (first paired step).
      const site = steerSite(steer.layer);
      if (path !== "steered-only") {
        const live = await (path === "panel" ? panel : path === "panel-full-graph" ? fullGraph : before)();
        const v = makeVector({ name: "bench", modelId: model.info.id, site, data: steer.vector });
        return live.sliderLatency(prompt, v, 1, 0.5);
      }
      const factory = modelDecoderFactory(model, { prepare: [site], lastLogitsOnly: false });
      const running = { isCancellationRequested: false };
      let reachedThird!: () => void;
      const third = new Promise<void>((r) => (reachedThird = r));
      const first = (async () => {
        let tokens = 0;
        try {
          const it = generate(factory, prompt, { maxTokens: 64, steer: new Map([[site, steer.vector]]), cancel: running });
          for await (const _ of it) if (++tokens === 3) reachedThird();
        } catch {
          /* cancelled */
        }
        reachedThird();
      })();
      await third;
      const t0 = process.hrtime.bigint();
      running.isCancellationRequested = true;
      const half = steer.vector.map((x) => x * 0.5);
      const it = generate(factory, prompt, { maxTokens: 1, steer: new Map([[site, half]]) });
      await it.next();
      const dt = Number(process.hrtime.bigint() - t0) / 1e9;
      await it.return(undefined);
      await first;
      return dt;
    },
    async close() {
      await model.dispose();
    },
  };
}

/** The reason a figure needs `op` but the engine model lacks it. */
export function missing(op: keyof EngineModel): string {
  const why: Partial<Record<keyof EngineModel, string>> = {
    captureAll: "engine capture of every resid_* and mlp.hook_post site not available",
    sweep: "engine patching sweep (src/engine/patch) not available",
    generate: "engine steered generation with past_key_values not available",
    sliderToFirstToken: "engine live steering (restart on slider change) not available",
  };
  return why[op] ?? `engine ${op} not available`;
}

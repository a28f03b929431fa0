// The Introspect side: a thin adapter over src/engine so each figure asks for one operation
// and gets either a function or the reason it cannot be measured yet.

import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./models";

export interface EngineModel {
  /** One forward of the unmodified path through the engine (no sites, no steering). */
  plain(ids: number[]): Promise<void>;
  /** One forward with every resid_pre/mid/post and mlp.hook_post captured. */
  captureAll?(ids: number[]): Promise<void>;
  /** Residual-stream (resid_pre) patching sweep; logit differences [layer][position index]. */
  sweep?(spec: SweepSpec): Promise<number[][]>;
  /** Greedy generation with past_key_values; `steer` adds vector*1 to resid_post of a layer. */
  generate?(prompt: number[], newTokens: number, steer?: SteerSpec): Promise<number[]>;
  /** From a slider change (new steering strength) to the first steered token, with generation running. */
  sliderToFirstToken?(prompt: number[], steer: SteerSpec): Promise<number>;
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

export interface SteerSpec {
  layer: number;
  vector: Float32Array;
}

export interface EngineApi {
  open(modelPath: string): Promise<EngineModel>;
}

export interface EngineStatus {
  api?: EngineApi;
  reason?: string;
}

let cached: EngineStatus | undefined;

/** Finds src/engine/index.ts and wraps what it exports; a reason instead when it is not there yet. */
export async function loadEngine(): Promise<EngineStatus> {
  if (cached) return cached;
  const index = path.join(ROOT, "src", "engine", "index.ts");
  if (!fs.existsSync(index)) return (cached = { reason: "src/engine/index.ts does not exist yet" });
  let mod: Record<string, unknown>;
  try {
    mod = (await import(index)) as Record<string, unknown>;
  } catch (e) {
    return (cached = { reason: `src/engine/index.ts failed to load: ${(e as Error).message.split("\n")[0]}` });
  }
  if (typeof mod.openModel !== "function") return (cached = { reason: "the engine exports no openModel" });
  return (cached = { reason: "the engine's API is not wired into bench/lib/engine.ts yet" });
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

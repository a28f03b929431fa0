// Host messages of steering: vectors live in the host by id; the side panel holds ids, strengths and toggles.
// Declared once, re-exported by src/protocol/lsp.ts; each message says who sends it and why.
import { NotificationType, RequestType } from "vscode-languageserver-protocol";
import type { ContrastSpec, ExpertIntervention } from "../engine/shapes";

/** A steering vector as the client sees it; its data stays in the host (and in the .ivec bytes). */
export interface SteerVectorInfo {
  id: string;
  name: string;
  site: string;
  dim: number;
  modelId: string;
  method: string;
  normalised: boolean;
  rawNorm?: number;
  layerWeights?: { layer: number; weight: number }[];
  source?: string;
}

/** A built or loaded vector with its `.ivec` bytes (base64), so the client can save it and re-send it after a host restart. */
export interface SteerVectorResult {
  vector: SteerVectorInfo;
  ivec: string;
}

/** A vector and its slider value, as sent with generation, sweep and export requests. */
export interface SteerActive {
  id: string;
  alpha: number;
}

export interface SteerBuildParams {
  /** Contrast block (src/engine/promptfile ContrastSpec); one vector per listed layer. */
  spec: ContrastSpec;
  /** Where it came from, recorded in the vector (e.g. "sentiment.introspect#sentiment"). */
  source: string;
  /** The prompt file's URI, so its "Open in steering panel" lens appears. */
  uri?: string;
}

/** Client -> host request: build vectors from a contrast block (diff of means or PCA), with progress and cancel. */
export namespace SteerBuildRequest {
  export const method = "introspect/steerBuild" as const;
  export const type = new RequestType<SteerBuildParams, SteerVectorResult[], void>(method);
}

export interface SteerPairParams {
  name: string;
  positive: string;
  negative: string;
  /** Hook name, e.g. blocks.2.hook_resid_post. */
  site: string;
  pooling: "last" | "mean";
}

/** Client -> host request: a vector from a pair of selections (positive - negative activation). */
export namespace SteerPairRequest {
  export const method = "introspect/steerPair" as const;
  export const type = new RequestType<SteerPairParams, SteerVectorResult, void>(method);
}

export interface SteerLoadParams {
  format: "ivec" | "gguf";
  /** base64 of the file's bytes (the client reads workspace files). */
  base64: string;
  /** File name, for messages and the vector's name. */
  label: string;
  /** Loaded before (a host restart): keep this id. */
  id?: string;
  /** Built from this prompt file's contrast block: its "Open in steering panel" lens comes back. */
  builtFrom?: { uri: string; block: string };
}

/** Client -> host request: register vectors from an .ivec or a llama.cpp/repeng GGUF control vector; checks that they fit the model. */
export namespace SteerLoadRequest {
  export const method = "introspect/steerLoad" as const;
  export const type = new RequestType<SteerLoadParams, { vectors: SteerVectorResult[]; warnings: string[] }, void>(method);
}

/** Client -> host request: combine vectors (sum of coef * vector; scale and negate are one part). */
export namespace SteerCombineRequest {
  export const method = "introspect/steerCombine" as const;
  export const type = new RequestType<{ name: string; parts: { id: string; coef: number }[] }, SteerVectorResult, void>(method);
}

/** Client -> host request: export active vectors (times their strengths) as a GGUF control vector; base64 bytes. */
export namespace SteerExportRequest {
  export const method = "introspect/steerExport" as const;
  export const type = new RequestType<{ vectors: SteerActive[] }, { base64: string }, void>(method);
}

/**
 * Client -> host request: apply vector `id` over several layers with a weight each (the "Guiding
 * Giants" form; same site kind as its own site), or back at its own site alone (`weights: null`).
 * The vector keeps its id; the result carries its new .ivec bytes.
 */
export namespace SteerLayersRequest {
  export const method = "introspect/steerLayers" as const;
  export const type = new RequestType<{ id: string; weights: { layer: number; weight: number }[] | null }, SteerVectorResult, void>(method);
}

export type SteerSampling = { kind: "greedy" } | { kind: "sample"; seed: number; temperature: number };

export interface SteerGenerateParams {
  /** Chosen by the client; every step notification carries it so stale streams are ignored. */
  genId: number;
  prompt: string;
  vectors: SteerActive[];
  maxTokens: number;
  sampling: SteerSampling;
  /** Expert interventions of the steered side (mixture-of-experts models); the unsteered side has none. */
  experts?: ExpertIntervention[];
}

export interface SteerTokenStep {
  id: number;
  text: string;
  p: number;
  entropy: number;
}

export interface SteerStep {
  index: number;
  unsteered: SteerTokenStep;
  steered: SteerTokenStep;
  /** KL(steered || unsteered), nats. */
  kl: number;
  firstDifference?: number;
}

/** Client -> host request: unsteered and steered generation side by side; steps stream as SteerStepNotification. Cancel to stop. */
export namespace SteerGenerateRequest {
  export const method = "introspect/steerGenerate" as const;
  export const type = new RequestType<
    SteerGenerateParams,
    { genId: number; steps: number; promptTokens: number; firstTokenMs?: number; stopped: "done" | "cancelled" },
    void
  >(method);
}

/** Host -> client notification: one generated step of generation `genId` (both runs, KL, entropies). */
export namespace SteerStepNotification {
  export const method = "introspect/steerStep" as const;
  export const type = new NotificationType<{ genId: number; step: SteerStep }>(method);
}

export interface SteerSweepParams {
  vectorId: string;
  prompt: string;
  alphas: number[];
  layers: number[];
  score: { kind: "kl" } | { kind: "words"; words: string[] };
  maxTokens: number;
}

export interface SteerSweepResult {
  vector: string;
  layers: number[];
  alphas: number[];
  /** Row-major [layers x alphas]. */
  scores: number[];
  texts: string[];
  baseline: number;
  scoreLabel: string;
}

/** Client -> host request: a sweep of one vector over strengths x layers, with a score and a short continuation per cell. */
export namespace SteerSweepRequest {
  export const method = "introspect/steerSweep" as const;
  export const type = new RequestType<SteerSweepParams, SteerSweepResult, void>(method);
}

// Custom LSP messages between the extension (client, src/extension) and the model host
// (server, src/server). This is the one place they are declared; both sides import it.
// Each message: who sends it, and why. Large tensors are never JSON number arrays here:
// results carrying them are typed Wire<T> and travel through toWire / fromWire
// (src/protocol/probeData.ts: typed arrays as tagged base64), or stay in the host.
import { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import type { CandidateModel, ExpertIntervention, ModelInfo, ModelState } from "../engine/shapes";
import type { AttentionData, AttentionRequest, NeuronData, NeuronRequest, ProbeResult } from "./probeData";
import type { Wire } from "./wireType";
import type {
  FeatureCardParams,
  FeatureCardResult,
  FeatureClampParams,
  FeatureClampResult,
  FeatureListResult,
  FeatureReadParams,
  FeatureReadResult,
  FeatureScanParams,
  FeatureScanResult,
  FeatureVectorParams,
  FeatureVectorResult,
} from "./featureData";
import type { PatchExperiment, PatchHeader, PatchProgressData, PatchRun } from "./patchData";

export type { ModelState };

/** Host -> client notification: the model's state changed; drives the status bar. */
export namespace StatusNotification {
  export const method = "introspect/status" as const;
  export const type = new NotificationType<ModelState>(method);
}

export interface IoName {
  name: string;
  /** Element type as onnxruntime reports it, e.g. "float32", "int64"; "" when unknown. */
  type: string;
  /** Symbolic or fixed dims, e.g. ["batch_size", "sequence_length"]; empty when unknown. */
  dims: (number | string)[];
}

export interface ModelInfoResult {
  /** onnxruntime-node's version, e.g. "1.30.0". */
  ortVersion: string;
  /** Absolute path of the model folder or .onnx file the host was configured with; "" if none. */
  modelPath: string;
  /** The .onnx file actually opened, when one was. */
  onnxFile?: string;
  inputs: IoName[];
  outputs: IoName[];
  state: ModelState;
  /** Process id of the model host, so users (and tests) can tell a restart happened. */
  hostPid: number;
  /** Whether the host process was started with the glibc malloc settings of src/launch/mallocTuning.ts. */
  mallocTuned?: boolean;
  /** The architecture map's summary and self-check of the open model. */
  info?: ModelInfo;
}

/** Client -> host request: describe the runtime and the configured model's inputs and outputs (info panel). */
export namespace ModelInfoRequest {
  export const method = "introspect/modelInfo" as const;
  export const type = new RequestType0<ModelInfoResult, void>(method);
}

/** The fidelity badge of the loaded model: a quantised variant against its folder's fp32 model. */
export interface FidelityResult {
  /** The summary line ("q4 vs fp32: top-1 agreement 97.1%, ..."), when there is a badge. */
  summary?: string;
  top1Agreement?: number;
  meanKL?: number;
  driftLayer?: number;
  /** Why there is none (the fp32 model itself, no fp32 model in the folder, no model loaded). */
  unavailable?: string;
  cached?: boolean;
}

/** Client -> host request (Model Info): the loaded variant's fidelity badge, computed once and cached. */
export namespace FidelityRequest {
  export const method = "introspect/fidelity" as const;
  export const type = new RequestType0<FidelityResult, void>(method);
}

/** MLP activation sparsity per layer over a probed text (probe panel's sparsity chart). */
export interface SparsityParams {
  /** The probed tokens (perplexity is measured on them). */
  ids: number[];
  /** Magnitude for the below-threshold share. */
  threshold: number;
  /** Perplexity rises (percent) for PPL-p% sparsity. */
  ps: number[];
}

export interface SparsityResult {
  layers: Array<{ layer: number; exactZero: number; belowThreshold: number; ppl: number[] }>;
  ppl: Array<{ p: number; share: number; threshold: number; baseline: number; ppl: number }>;
  threshold: number;
}

/** Client -> host request (probe panel): exact-zero, below-threshold and PPL-p% sparsity per layer. */
export namespace SparsityRequest {
  export const method = "introspect/sparsity" as const;
  export const type = new RequestType<SparsityParams, SparsityResult, void>(method);
}

export { CompareModelsRequest, type CompareModelsParams, type ModelComparison } from "./compareModels"; // "Compare with…" (probe panel)

/** Client -> host request ("Clear Cache"): remove every edited graph the host cached, for every model. */
export namespace ClearCacheRequest {
  export const method = "introspect/clearCache" as const;
  export const type = new RequestType0<{ dir: string; removed: number; bytes: number }, void>(method);
}

export interface ListModelsParams {
  /** Folders of bundled models (the extension's models/). */
  demoRoots: string[];
  /** Workspace folders to search for model folders. */
  workspaceFolders: string[];
  /** Only these folders, described as they are (Browse…), instead of the search. */
  folders?: string[];
}

/** Client -> host request (Select Model…): model folders with their facts, read without loading any (engine/model/candidates.ts). */
export namespace ListModelsRequest {
  export const method = "introspect/listModels" as const;
  export const type = new RequestType<ListModelsParams, CandidateModel[], void>(method);
}

export interface ConfigureParams {
  /** Absolute path of a model folder or .onnx file; "" to unload. */
  modelPath: string;
  /** Variant file name inside `onnx/` without extension, e.g. "model", "model_quantized"; "" = default. */
  variant: string;
  /** introspect.executionProvider: cpu (default), cuda, coreml, dml, webgpu; unavailable ones fall back to CPU. */
  executionProvider?: string;
  /** introspect.cache.maxBytes: the edited-graph cache's bound (least recently used models go first). */
  cacheMaxBytes?: number;
}

/** Client -> host request: (re)load the model named by the settings; answered when loading ends. */
export namespace ConfigureRequest {
  export const method = "introspect/configure" as const;
  export const type = new RequestType<ConfigureParams, ModelState, void>(method);
}

export interface ProbeParams {
  /** Document the text comes from (for the panel title and the editor tint). */
  uri: string;
  /** The probed text: by default the document up to the selection's end. */
  text: string;
  /** UTF-16 range of `text` whose tokens are shown (the heatmap columns). */
  selection: { start: number; end: number };
  /** introspect token budget: more selected tokens than this is refused with a sentence. */
  maxTokens?: number;
  neuronLayer?: number;
  neuronCount?: number;
  attention?: AttentionRequest;
  /** Expert interventions for the probed pass (a prompt file's `experts` lines, src/protocol/expertLines.ts). */
  experts?: ExpertIntervention[];
}

/**
 * Client -> host request: probe a selection (one forward pass + logit lens). The result is a
 * ProbeResult (src/protocol/probeData.ts) encoded with `toWire` (typed arrays as base64);
 * decode with `fromWire<ProbeResult>` before posting it to the probe panel.
 */
export namespace ProbeRequest {
  export const method = "introspect/probe" as const;
  export const type = new RequestType<ProbeParams, Wire<ProbeResult>, void>(method);
}

/** Client -> host request: top-k MLP neurons of another layer of probe `probeId`; result toWire(NeuronData). */
export namespace ProbeNeuronsRequest {
  export const method = "introspect/probeNeurons" as const;
  export const type = new RequestType<NeuronRequest & { probeId: string }, Wire<NeuronData>, void>(method);
}

/** Client -> host request: attention of another layer/head of probe `probeId`; result toWire(AttentionData). */
export namespace ProbeAttentionRequest {
  export const method = "introspect/probeAttention" as const;
  export const type = new RequestType<AttentionRequest & { probeId: string }, Wire<AttentionData>, void>(method);
}

// ---- Steering (issue 7): vectors live in the host by id; the side panel holds ids, strengths and toggles.

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
  spec: import("../engine/shapes").ContrastSpec;
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

// ---- Activation patching (issue 8). Data types: src/protocol/patchData.ts; grids cross as toWire (base64).

/** Client -> host request: tokenise both prompts, find the default answers (top-1 of each run) and the patchable sites. */
export namespace PatchPrepareRequest {
  export const method = "introspect/patchPrepare" as const;
  export const type = new RequestType<import("./patchData").PatchExperiment, import("./patchData").PatchPreview, void>(method);
}

/**
 * Client -> host request: run the layer x position sweep; answers toWire(PatchRun) when done.
 * Cells stream as PatchProgressNotification with the same runId; cancelling stops within one batch.
 */
export namespace PatchRunRequest {
  export const method = "introspect/patchRun" as const;
  export const type = new RequestType<{ runId: number; experiment: PatchExperiment }, Wire<PatchRun>, void>(method);
}

/** Host -> client notification: run `runId` started (toWire(PatchHeader)) or finished more cells (toWire(PatchProgressData)). */
export namespace PatchProgressNotification {
  export const method = "introspect/patchProgress" as const;
  export const type = new NotificationType<{ runId: number; header?: Wire<PatchHeader>; progress?: Wire<PatchProgressData> }>(method);
}

/** Client -> host request: the top next tokens of the corrupted run with one cell patched (a click in the heatmap). */
export namespace PatchCellRequest {
  export const method = "introspect/patchCell" as const;
  export const type = new RequestType<import("./patchData").PatchCellParams, import("./patchData").PatchCellResult, void>(method);
}

// ---- feature dictionaries (src/server/handlers/features.ts) ----------------------------------

/** Client -> host request: dictionaries under the loaded model's `saes/` folder. */
export namespace FeatureListRequest {
  export const method = "introspect/featureList" as const;
  export const type = new RequestType0<FeatureListResult, void>(method);
}

/** Client -> host request: a dictionary's reading of the probed tokens (heatmap, top features, error, L0). */
export namespace FeatureReadRequest {
  export const method = "introspect/featureRead" as const;
  export const type = new RequestType<FeatureReadParams, Wire<FeatureReadResult>, void>(method);
}

/** Client -> host request: one feature's card (logit-lens tokens, density, cached top snippets). */
export namespace FeatureCardRequest {
  export const method = "introspect/featureCard" as const;
  export const type = new RequestType<FeatureCardParams, FeatureCardResult, void>(method);
}

/** Client -> host request: scan a corpus with a dictionary once (progress, cancel), cached in the extension's cache folder. */
export namespace FeatureScanRequest {
  export const method = "introspect/featureScan" as const;
  export const type = new RequestType<FeatureScanParams, FeatureScanResult, void>(method);
}

/** Client -> host request: a feature's decoder direction, scaled to its typical activation, as .ivec bytes. */
export namespace FeatureVectorRequest {
  export const method = "introspect/featureVector" as const;
  export const type = new RequestType<FeatureVectorParams, FeatureVectorResult, void>(method);
}

/** Client -> host request: greedy continuation with one feature clamped (and without), for the feature card. */
export namespace FeatureClampRequest {
  export const method = "introspect/featureClamp" as const;
  export const type = new RequestType<FeatureClampParams, FeatureClampResult, void>(method);
}

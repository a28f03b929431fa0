// Host messages about the model: its state, its description, loading one, listing folders, the cache.
// Declared once, re-exported by src/protocol/lsp.ts; each message says who sends it and why.
import { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import type { CandidateModel, ModelInfo, ModelState } from "../engine/shapes";

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

// Custom LSP messages between the extension (client, src/extension) and the model host
// (server, src/server). This is the one place they are declared; both sides import it.
// Each message: who sends it, and why. Large tensors are never JSON number arrays here:
// they travel as base64 of their float32 bytes (TensorPayload) or stay in the host.
import { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";
import type { ModelState } from "../engine/types";
import type { AttentionRequest, NeuronRequest } from "./probeData";

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
}

/** Client -> host request: describe the runtime and the configured model's inputs and outputs (info panel). */
export namespace ModelInfoRequest {
  export const method = "introspect/modelInfo" as const;
  export const type = new RequestType0<ModelInfoResult, void>(method);
}

export interface ConfigureParams {
  /** Absolute path of a model folder or .onnx file; "" to unload. */
  modelPath: string;
  /** Variant file name inside `onnx/` without extension, e.g. "model", "model_quantized"; "" = default. */
  variant: string;
}

/** Client -> host request: (re)load the model named by the settings; answered when loading ends. */
export namespace ConfigureRequest {
  export const method = "introspect/configure" as const;
  export const type = new RequestType<ConfigureParams, ModelState, void>(method);
}

/**
 * Binary payload for a tensor crossing the IPC channel. JSON-RPC has no binary type, so
 * the host sends the float32 bytes base64-encoded once (4/3 size) instead of a number array (~10x).
 */
export interface TensorPayload {
  dims: number[];
  /** base64 of the little-endian float32 bytes. */
  base64: string;
}

export function encodeTensor(dims: number[], data: Float32Array): TensorPayload {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { dims, base64: bytes.toString("base64") };
}

export function decodeTensor(p: TensorPayload): { dims: number[]; data: Float32Array } {
  const bytes = Buffer.from(p.base64, "base64");
  // Copy into an aligned buffer: Buffer.from may return a slice of a shared pool at any offset.
  const data = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(data.buffer).set(bytes);
  return { dims: p.dims, data };
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
}

/**
 * Client -> host request: probe a selection (one forward pass + logit lens). The result is a
 * ProbeResult (src/protocol/probeData.ts) encoded with `toWire` (typed arrays as base64);
 * decode with `fromWire<ProbeResult>` before posting it to the probe panel.
 */
export namespace ProbeRequest {
  export const method = "introspect/probe" as const;
  export const type = new RequestType<ProbeParams, unknown, void>(method);
}

/** Client -> host request: top-k MLP neurons of another layer of probe `probeId`; result toWire(NeuronData). */
export namespace ProbeNeuronsRequest {
  export const method = "introspect/probeNeurons" as const;
  export const type = new RequestType<NeuronRequest & { probeId: string }, unknown, void>(method);
}

/** Client -> host request: attention of another layer/head of probe `probeId`; result toWire(AttentionData). */
export namespace ProbeAttentionRequest {
  export const method = "introspect/probeAttention" as const;
  export const type = new RequestType<AttentionRequest & { probeId: string }, unknown, void>(method);
}

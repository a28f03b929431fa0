// The data of one probe across boundaries: the engine's result types (src/engine/analysis/result.ts,
// re-exported here), the panel's requests, and the revivers of tensors that arrived in another
// form. Browser-safe. To the webview tensors go as they are (postMessage clones typed arrays);
// over JSON-RPC they go through the wire codec (src/protocol/wire.ts, docs/wire.md).
import type { ProbeIntTensor, ProbeTensor } from "../engine/shapes";

export type {
  AttentionData,
  AttentionRequest,
  LayerMetricName,
  LensChunk,
  LogitLensData,
  MassiveActivation,
  MoeData,
  NeuronData,
  NeuronRequest,
  ProbeIntTensor,
  ProbeResult,
  ProbeTensor,
  ProbeToken,
  ProbeView,
} from "../engine/shapes";
/** The probe panel's analysis views in the registry's order (src/engine/analysis/views.ts). */
export { panelViews } from "../engine/shapes";
export { lensMissing, mergeLensChunk } from "./lensChunk";

/** Panel -> host: tint the probed tokens in the editor with one scalar per token. */
export interface TintRequest {
  /** What the values are, shown in the editor hover, e.g. "L3 neuron 117". */
  label: string;
  /** One value per ProbeResult.tokens entry; NaN leaves a token untinted. */
  values: Float32Array;
  /** Whether values are signed (diverging colours) or magnitudes. */
  signed: boolean;
}

/** Panel -> host: save exported data through a save dialog. */
export interface ExportRequest {
  format: "png" | "csv" | "json";
  suggestedName: string;
  /** PNG bytes, or CSV / JSON text. */
  data: ArrayBuffer | string;
}

// ---- revivers --------------------------------------------------------------------------------

/** Accepts a tensor whose data arrived as a typed array, a plain array or an object of indices. */
export function reviveFloat(t: { dims: number[]; data: unknown }): ProbeTensor {
  const d = t.data;
  if (d instanceof Float32Array) return { dims: t.dims, data: d };
  if (d instanceof ArrayBuffer) return { dims: t.dims, data: new Float32Array(d) };
  if (ArrayBuffer.isView(d)) return { dims: t.dims, data: new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
  if (Array.isArray(d)) return { dims: t.dims, data: Float32Array.from(d as number[]) };
  if (d && typeof d === "object") return { dims: t.dims, data: Float32Array.from(Object.values(d) as number[]) };
  throw new Error("tensor data missing");
}

export function reviveInt(t: { dims: number[]; data: unknown }): ProbeIntTensor {
  const d = t.data;
  if (d instanceof Int32Array) return { dims: t.dims, data: d };
  if (d instanceof ArrayBuffer) return { dims: t.dims, data: new Int32Array(d) };
  if (ArrayBuffer.isView(d)) return { dims: t.dims, data: new Int32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
  if (Array.isArray(d)) return { dims: t.dims, data: Int32Array.from(d as number[]) };
  if (d && typeof d === "object") return { dims: t.dims, data: Int32Array.from(Object.values(d) as number[]) };
  throw new Error("tensor data missing");
}

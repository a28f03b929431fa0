// The data of one probe across boundaries: the engine's result types (src/engine/analysis/result.ts,
// re-exported here), the panel's requests, and the two helpers that move tensors. To the webview
// tensors go as they are (postMessage clones typed arrays); over JSON-RPC they go base64-encoded
// (toWire / fromWire below).
import type { ProbeIntTensor, ProbeTensor } from "../engine";

export type {
  AttentionData,
  AttentionRequest,
  LayerMetricName,
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
} from "../engine";

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

// ---- wire helpers -----------------------------------------------------------------------------

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

const B64_TAG = "$b64f32";
const B64_TAG_I = "$b64i32";

/**
 * A value of type T as toWire encodes it for JSON-RPC (typed arrays as tagged base64). The type
 * parameter is what fromWire gives back, so a request typed `Wire<ProbeResult>` decodes to a
 * ProbeResult without a cast at the call site. (The brand exists only for the type checker.)
 */
export type Wire<T> = { readonly __wireOf?: T };

/** Replaces every Float32Array / Int32Array in a value by a tagged base64 string, for JSON-RPC. */
export function toWire<T>(value: T): Wire<T> {
  return encode(value) as Wire<T>;
}

function encode(value: unknown): unknown {
  if (value instanceof Float32Array) return { [B64_TAG]: bytesToBase64(value) };
  if (value instanceof Int32Array) return { [B64_TAG_I]: bytesToBase64(value) };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v);
    return out;
  }
  return value;
}

/** Inverse of toWire. */
export function fromWire<T>(value: Wire<T>): T {
  return revive(value) as T;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o[B64_TAG] === "string") return new Float32Array(base64ToBuffer(o[B64_TAG] as string));
    if (typeof o[B64_TAG_I] === "string") return new Int32Array(base64ToBuffer(o[B64_TAG_I] as string));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = revive(v);
    return out;
  }
  return value;
}

function bytesToBase64(a: Float32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

function base64ToBuffer(s: string): ArrayBuffer {
  const b = Buffer.from(s, "base64");
  // Copy into a fresh, aligned ArrayBuffer: Buffer pools may start at odd offsets.
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

// safetensors read/write in plain TypeScript: 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}, then the raw
// little-endian tensor bytes (offsets relative to the end of the header). Used for --out files of
// the CLI, saved vectors and the PyTorch reference tensors.

import { halvesToF32 } from "./half";
import * as fs from "node:fs";
import { outputTempName, writeFileAtomic } from "./model/tempFiles";
import { IntrospectError } from "./types";

export type SafeDtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

export type SafeData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** One tensor as read: floats of every width come back as Float32Array (F64 as Float64Array). */
export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: SafeData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** What can be written: F32 floats and I32 / I64 integers (I64 from BigInt64Array or integer numbers). */
export type WritableTensor =
  | { dtype?: "F32"; shape: number[]; data: Float32Array | ArrayLike<number> }
  | { dtype: "I32"; shape: number[]; data: Int32Array | ArrayLike<number> }
  | { dtype: "I64"; shape: number[]; data: BigInt64Array | ArrayLike<number> };

const ITEM_SIZE: Record<SafeDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

function corrupt(where: string, why: string): IntrospectError {
  return new IntrospectError("corrupt-model", `${where} is not a valid safetensors file: ${why}.`);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function decode(dtype: SafeDtype, bytes: Uint8Array, n: number): SafeData {
  // Copy into a fresh, aligned buffer: offsets in a file need not be multiples of the item size.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  switch (dtype) {
    case "F32":
      return new Float32Array(copy.buffer, 0, n);
    case "F64":
      return new Float64Array(copy.buffer, 0, n);
    case "I64":
      return new BigInt64Array(copy.buffer, 0, n);
    case "I32":
      return new Int32Array(copy.buffer, 0, n);
    case "I16":
      return new Int16Array(copy.buffer, 0, n);
    case "I8":
      return new Int8Array(copy.buffer, 0, n);
    case "U8":
    case "BOOL":
      return copy;
    case "F16":
    case "BF16":
      return halvesToF32(n, (i) => view.getUint16(i * 2, true), dtype === "F16" ? "f16" : "bf16");
  }
}

/** Parses a whole safetensors file held in memory. `where` names it in error messages. */
export function parseSafetensors(buf: Uint8Array, where = "the file"): SafetensorsFile {
  if (buf.byteLength < 8) throw corrupt(where, "it is shorter than its 8-byte header length");
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > MAX_HEADER || 8 + headerLen > buf.byteLength) {
    throw corrupt(where, `its header length (${headerLen} bytes) does not fit in the file`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw corrupt(where, `its header is not JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) throw corrupt(where, "its header is not an object");
  const dataStart = 8 + headerLen;
  const dataLen = buf.byteLength - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = e.dtype as SafeDtype;
    if (!(typeof dtype === "string" && dtype in ITEM_SIZE)) throw corrupt(where, `tensor ${name} has unsupported dtype ${String(e.dtype)}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw corrupt(where, `tensor ${name} has a bad shape`);
    }
    const offs = e.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
      throw corrupt(where, `tensor ${name} has bad data_offsets`);
    }
    const [begin, end] = offs as number[];
    const shape = e.shape as number[];
    const n = numel(shape);
    if (end < begin || end > dataLen || end - begin !== n * ITEM_SIZE[dtype]) {
      throw corrupt(
        where,
        `tensor ${name} (${dtype} ${JSON.stringify(shape)}) has data_offsets [${begin}, ${end}] that do not match its size`,
      );
    }
    tensors.set(name, { dtype, shape, data: decode(dtype, buf.subarray(dataStart + begin, dataStart + end), n) });
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new IntrospectError("bad-input", `${file} could not be read (${(e as Error).message}).`);
  }
  return parseSafetensors(buf, file);
}

/** A tensor as Float32Array whatever its stored type (integers converted). */
export function toFloat32(t: SafeTensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  const out = new Float32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) out[i] = Number(t.data[i]);
  return out;
}

function encodeTensor(name: string, t: WritableTensor): { dtype: "F32" | "I32" | "I64"; bytes: Uint8Array } {
  const dtype = t.dtype ?? "F32";
  const n = numel(t.shape);
  if (t.data.length !== n) {
    throw new IntrospectError("internal", `Tensor ${name} has ${t.data.length} values but shape ${JSON.stringify(t.shape)} needs ${n}.`);
  }
  let arr: Float32Array | Int32Array | BigInt64Array;
  if (dtype === "F32") arr = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
  else if (dtype === "I32") arr = t.data instanceof Int32Array ? t.data : Int32Array.from(t.data as ArrayLike<number>);
  else if (t.data instanceof BigInt64Array) arr = t.data;
  else {
    const src = t.data as ArrayLike<number>;
    arr = new BigInt64Array(n);
    for (let i = 0; i < n; i++) arr[i] = BigInt(src[i]);
  }
  // Typed arrays are little-endian on every platform Node runs on.
  return { dtype, bytes: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) };
}

/** Serialises tensors (in the given order) and string metadata into safetensors bytes. */
export function serializeSafetensors(tensors: Record<string, WritableTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new IntrospectError("internal", `Metadata ${k} must be a string.`);
    }
    header.__metadata__ = metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "__metadata__") throw new IntrospectError("internal", "__metadata__ is not a tensor name.");
    const { dtype, bytes } = encodeTensor(name, t);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  const jsonBytesLen = Buffer.byteLength(json, "utf8");
  json += " ".repeat((8 - ((8 + jsonBytesLen) % 8)) % 8);
  const jsonBytes = Buffer.from(json, "utf8");
  const out = new Uint8Array(8 + jsonBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(jsonBytes.byteLength), true);
  out.set(jsonBytes, 8);
  let at = 8 + jsonBytes.byteLength;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Writes the file atomically (temp file and rename): a kill mid-write never leaves half a file, nor
 * damages an earlier file of that name. */
export function writeSafetensors(file: string, tensors: Record<string, WritableTensor>, metadata?: Record<string, string>): void {
  const bytes = serializeSafetensors(tensors, metadata);
  try {
    writeFileAtomic(file, [bytes], { temp: outputTempName(file), durable: true });
  } catch (e) {
    throw new IntrospectError("bad-input", `${file} could not be written (${(e as Error).message}).`);
  }
}

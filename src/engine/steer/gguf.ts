// A small GGUF (version 2 and 3) reader and writer, enough for control vectors: typed
// key-value metadata and F32/F16 tensors. Written from the GGUF specification (ggml docs/gguf.md):
//   magic "GGUF", uint32 version, uint64 tensor_count, uint64 kv_count,
//   kv: string key, uint32 value type, value (arrays: uint32 elem type, uint64 count, elems),
//   tensor infos: string name, uint32 n_dims, uint64 dims[n_dims] (innermost first),
//                 uint32 ggml type, uint64 offset (relative to the data section, aligned),
//   padding to `general.alignment` (default 32), tensor data.
// Strings are uint64 length + UTF-8 bytes without a terminator. All little-endian.

import { f16ToF32 } from "../half";
import { IntrospectError } from "../types";

export enum GgufType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

const GGML_F32 = 0;
const GGML_F16 = 1;

/** Arrays of arrays deeper than this are refused (real files nest at most one level). */
const MAX_ARRAY_DEPTH = 8;
/** The least bytes one value of each type takes, for sanity checks of counts (strings: their length). */
const MIN_VALUE_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8 };
/** general.alignment must be a power of two up to this (the specification asks for a multiple of 8; 32 is the default). */
const MAX_ALIGNMENT = 1 << 16;

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensor {
  name: string;
  /** Innermost dimension first, as GGUF stores them. */
  dims: number[];
  data: Float32Array;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensor[];
}

class Reader {
  pos = 0;
  constructor(
    readonly b: Buffer,
    readonly label: string,
  ) {}
  need(n: number): void {
    if (this.pos + n > this.b.length) {
      throw new IntrospectError("bad-input", `${this.label} is truncated or is not a GGUF file (read past the end at byte ${this.pos}).`);
    }
  }
  u32(): number {
    this.need(4);
    const v = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.b.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new IntrospectError("bad-input", `${this.label} holds a size too large to be real; the file is damaged.`);
    return Number(v);
  }
  /** Bytes left after the read position. */
  get left(): number {
    return this.b.length - this.pos;
  }
  /** A count of items each taking at least `minBytes`: refused when the rest of the file cannot hold them. */
  count(what: string, minBytes: number): number {
    const n = this.u64();
    if (n * minBytes > this.left)
      throw new IntrospectError(
        "bad-input",
        `${this.label} says it holds ${n} ${what}, more than its remaining ${this.left} bytes can hold; the file is damaged.`,
      );
    return n;
  }
  str(): string {
    const n = this.u64();
    this.need(n);
    const s = this.b.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  value(t: number, depth = 0): GgufValue {
    const b = this.b;
    const at = (n: number) => {
      this.need(n);
      const p = this.pos;
      this.pos += n;
      return p;
    };
    switch (t) {
      case GgufType.UINT8:
        return b.readUInt8(at(1));
      case GgufType.INT8:
        return b.readInt8(at(1));
      case GgufType.UINT16:
        return b.readUInt16LE(at(2));
      case GgufType.INT16:
        return b.readInt16LE(at(2));
      case GgufType.UINT32:
        return b.readUInt32LE(at(4));
      case GgufType.INT32:
        return b.readInt32LE(at(4));
      case GgufType.FLOAT32:
        return b.readFloatLE(at(4));
      case GgufType.BOOL:
        return b.readUInt8(at(1)) !== 0;
      case GgufType.STRING:
        return this.str();
      case GgufType.UINT64:
        return b.readBigUInt64LE(at(8));
      case GgufType.INT64:
        return b.readBigInt64LE(at(8));
      case GgufType.FLOAT64:
        return b.readDoubleLE(at(8));
      case GgufType.ARRAY: {
        if (depth >= MAX_ARRAY_DEPTH)
          throw new IntrospectError(
            "bad-input",
            `${this.label} nests metadata arrays more than ${MAX_ARRAY_DEPTH} deep; the file is damaged or not a control vector.`,
          );
        const et = this.u32();
        const n = this.count("array elements", MIN_VALUE_BYTES[et] ?? 1);
        const out: GgufValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(et, depth + 1));
        return out;
      }
      default:
        throw new IntrospectError("bad-input", `${this.label} has a metadata value of unknown type ${t}; it may be a newer GGUF version.`);
    }
  }
}

export function readGguf(buf: Uint8Array, label = "GGUF file"): GgufFile {
  const r = new Reader(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength), label);
  r.need(4);
  if (r.b.toString("latin1", 0, 4) !== "GGUF")
    throw new IntrospectError("bad-input", `${label} is not a GGUF file (it does not start with "GGUF").`);
  r.pos = 4;
  const version = r.u32();
  if (version !== 2 && version !== 3) {
    throw new IntrospectError("bad-input", `${label} is GGUF version ${version}; versions 2 and 3 are supported.`);
  }
  const nTensors = r.count("tensors", 24);
  const nKv = r.count("metadata entries", 12);
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = r.str();
    metadata.set(key, r.value(r.u32()));
  }
  const infos: { name: string; dims: number[]; type: number; offset: number }[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str();
    const nd = r.u32();
    if (nd > 8) throw new IntrospectError("bad-input", `${label}: tensor ${name} has ${nd} dimensions; the file is damaged.`);
    const dims: number[] = [];
    for (let k = 0; k < nd; k++) dims.push(r.u64());
    infos.push({ name, dims, type: r.u32(), offset: r.u64() });
  }
  const rawAlignment = metadata.get("general.alignment") ?? 32;
  const alignment = typeof rawAlignment === "bigint" ? Number(rawAlignment) : rawAlignment;
  if (
    typeof alignment !== "number" ||
    !Number.isInteger(alignment) ||
    alignment <= 0 ||
    alignment > MAX_ALIGNMENT ||
    (alignment & (alignment - 1)) !== 0
  )
    throw new IntrospectError(
      "bad-input",
      `${label} has general.alignment ${String(rawAlignment)}; it must be a power of two such as 32 (the default). The file is damaged.`,
    );
  const dataStart = Math.ceil(r.pos / alignment) * alignment;
  const tensors = infos.map((ti) => {
    const count = ti.dims.reduce((a, b) => a * b, 1);
    const start = dataStart + ti.offset;
    const bytes = ti.type === GGML_F32 ? 4 : ti.type === GGML_F16 ? 2 : 0;
    if (bytes && (!Number.isSafeInteger(count * bytes) || start + bytes * count > r.b.length))
      throw new IntrospectError(
        "bad-input",
        `${label}: tensor ${ti.name} has dimensions ${ti.dims.join(" x ")}, which run past the end of the file; the file is damaged.`,
      );
    const data = new Float32Array(bytes ? count : 0);
    if (ti.type === GGML_F32) {
      for (let i = 0; i < count; i++) data[i] = r.b.readFloatLE(start + 4 * i);
    } else if (ti.type === GGML_F16) {
      for (let i = 0; i < count; i++) data[i] = f16ToF32(r.b.readUInt16LE(start + 2 * i));
    } else {
      throw new IntrospectError(
        "bad-input",
        `${label}: tensor ${ti.name} is stored as ggml type ${ti.type}; only F32 and F16 tensors can be read (control vectors are F32).`,
      );
    }
    return { name: ti.name, dims: ti.dims, data };
  });
  return { version, metadata, tensors };
}

/** A metadata entry to write: strings, uint32 counts, float32 and string arrays are all control vectors need. */
export type GgufWriteValue =
  | { type: GgufType.STRING; value: string }
  | { type: GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32; value: number }
  | { type: GgufType.BOOL; value: boolean };

export function writeGguf(metadata: [string, GgufWriteValue][], tensors: GgufTensor[], alignment = 32): Buffer {
  const parts: Buffer[] = [];
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    parts.push(b);
  };
  const u64 = (v: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    parts.push(b);
  };
  const str = (s: string) => {
    const b = Buffer.from(s, "utf8");
    u64(b.length);
    parts.push(b);
  };
  parts.push(Buffer.from("GGUF", "latin1"));
  u32(3);
  u64(tensors.length);
  u64(metadata.length);
  for (const [key, v] of metadata) {
    str(key);
    u32(v.type);
    const b = Buffer.alloc(4);
    switch (v.type) {
      case GgufType.STRING:
        str(v.value);
        continue;
      case GgufType.UINT32:
        b.writeUInt32LE(v.value);
        break;
      case GgufType.INT32:
        b.writeInt32LE(v.value);
        break;
      case GgufType.FLOAT32:
        b.writeFloatLE(v.value);
        break;
      case GgufType.BOOL:
        parts.push(Buffer.from([v.value ? 1 : 0]));
        continue;
    }
    parts.push(b);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    str(t.name);
    u32(t.dims.length);
    for (const d of t.dims) u64(d);
    u32(GGML_F32);
    u64(offset);
    offsets.push(offset);
    offset += Math.ceil((4 * t.data.length) / alignment) * alignment;
  }
  const headLen = parts.reduce((n, b) => n + b.length, 0);
  const dataStart = Math.ceil(headLen / alignment) * alignment;
  const out = Buffer.alloc(dataStart + offset);
  let p = 0;
  for (const b of parts) {
    b.copy(out, p);
    p += b.length;
  }
  tensors.forEach((t, k) => {
    for (let i = 0; i < t.data.length; i++) out.writeFloatLE(t.data[i], dataStart + offsets[k] + 4 * i);
  });
  return out;
}

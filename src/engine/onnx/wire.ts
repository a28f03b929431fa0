// Protocol-buffer wire format, read straight from a file.
//
// Why not decode the ModelProto with onnx-buf: a model with inline weights would become one JS object
// holding every initializer, doubling memory before onnxruntime even starts. Instead we walk the
// fields, read only small messages (nodes, value infos, tensor headers) and remember where large
// payloads (raw_data) lie in the file, so edits can copy or reference them without decoding.
import * as fs from "fs";

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** Random-access reads from a file with a small read-ahead window. */
export class FileBytes {
  private fd: number;
  private winStart = 0;
  private win: Buffer = Buffer.alloc(0);
  readonly size: number;

  constructor(readonly path: string) {
    // Non-blocking, and regular files only: a named pipe would otherwise block the open (and a
    // device such as /dev/zero would read forever).
    this.fd = fs.openSync(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    const st = fs.fstatSync(this.fd);
    if (!st.isFile()) {
      fs.closeSync(this.fd);
      throw new Error(st.isFIFO() ? "it is a named pipe (FIFO), not a regular file" : "it is not a regular file");
    }
    this.size = st.size;
  }

  /** Bytes [pos, pos+len); small reads are served from a 1 MiB window, large ones read directly. */
  read(pos: number, len: number): Uint8Array {
    if (pos < 0 || pos + len > this.size) throw new RangeError(`read past end of ${this.path}`);
    if (pos >= this.winStart && pos + len <= this.winStart + this.win.length) {
      return this.win.subarray(pos - this.winStart, pos - this.winStart + len);
    }
    if (len > 1 << 20) {
      const out = Buffer.allocUnsafe(len);
      fs.readSync(this.fd, out, 0, len, pos);
      return out;
    }
    const n = Math.min(Math.max(len, 1 << 20), this.size - pos);
    this.win = Buffer.allocUnsafe(n);
    fs.readSync(this.fd, this.win, 0, n, pos);
    this.winStart = pos;
    return this.win.subarray(0, len);
  }

  close(): void {
    fs.closeSync(this.fd);
    this.win = Buffer.alloc(0);
  }
}

/** One field of a message: where its payload lies (absolute file offsets for LEN fields). */
export interface WireField {
  field: number;
  wire: number;
  /** Absolute offset of the tag (start of the whole field). */
  start: number;
  /** Absolute offset just past the field. */
  end: number;
  /** LEN payload offset and length; for varints, the value. */
  payloadStart: number;
  payloadLength: number;
  value: number;
}

function readVarintAt(src: FileBytes, pos: number): { value: number; next: number } {
  const bytes = src.read(pos, Math.min(10, src.size - pos));
  let value = 0;
  let mul = 1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    value += (b & 0x7f) * mul;
    mul *= 128;
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  throw new Error("malformed varint");
}

/** Iterates the fields of the message occupying [start, end) in the file. */
export function* fields(src: FileBytes, start: number, end: number): Generator<WireField> {
  let pos = start;
  while (pos < end) {
    const tag = readVarintAt(src, pos);
    const field = Math.floor(tag.value / 8);
    const wire = tag.value & 7;
    let p = tag.next;
    let payloadStart = p;
    let payloadLength = 0;
    let value = 0;
    if (wire === WIRE_VARINT) {
      const v = readVarintAt(src, p);
      value = v.value;
      p = v.next;
    } else if (wire === WIRE_I64) p += 8;
    else if (wire === WIRE_I32) p += 4;
    else if (wire === WIRE_LEN) {
      const l = readVarintAt(src, p);
      payloadStart = l.next;
      payloadLength = l.value;
      p = l.next + l.value;
    } else throw new Error(`unsupported wire type ${wire} at byte ${pos}`);
    if (p > end || field === 0) throw new Error(`field overruns its message at byte ${pos}`);
    yield { field, wire, start: pos, end: p, payloadStart, payloadLength, value };
    pos = p;
  }
}

// ---- writing -----------------------------------------------------------------------------------

export function encodeVarint(v: number): Uint8Array {
  const out: number[] = [];
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

/** Tag + length prefix of a LEN field whose payload is `length` bytes. */
export function lenPrefix(field: number, length: number): Uint8Array {
  return concat([encodeVarint(field * 8 + WIRE_LEN), encodeVarint(length)]);
}

/** A whole LEN field (tag, length, payload). */
export function lenField(field: number, payload: Uint8Array): Uint8Array {
  return concat([lenPrefix(field, payload.length), payload]);
}

export function varintField(field: number, v: number): Uint8Array {
  return concat([encodeVarint(field * 8 + WIRE_VARINT), encodeVarint(v)]);
}

/** The parts one after another in one new array. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function decodeUtf8(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

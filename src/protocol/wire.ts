// The wire codec: the one way values holding typed arrays cross JSON-RPC (model host <-> extension)
// and the extension's saved panel state. API (docs/wire.md): toWire(value) -> Wire<T>, and
// fromWire(wire) -> T. Every typed array becomes `{ <tag>: <bytes as text> }`; TYPED lists the kinds
// (add one line for another array type), and bytesToText / textToBytes are the only place bytes
// become text, so a transport that carries binary replaces those two and nothing else. Node only
// (Buffer); webviews receive typed arrays directly through postMessage.

import type { Wire } from "./wireType";

export type { Wire };

type TypedArray = Float32Array | Int32Array;

/** The typed arrays the codec carries, each under its tag. */
const TYPED: { tag: string; is(v: unknown): v is TypedArray; make(b: ArrayBuffer): TypedArray }[] = [
  { tag: "$b64f32", is: (v): v is Float32Array => v instanceof Float32Array, make: (b) => new Float32Array(b) },
  { tag: "$b64i32", is: (v): v is Int32Array => v instanceof Int32Array, make: (b) => new Int32Array(b) },
];

/** Replaces every typed array in a value by its tagged text, for JSON-RPC. */
export function toWire<T>(value: T): Wire<T> {
  return encode(value) as Wire<T>;
}

/** Inverse of toWire. */
export function fromWire<T>(value: Wire<T>): T {
  return revive(value) as T;
}

function encode(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) {
    const kind = TYPED.find((k) => k.is(value));
    if (kind) return { [kind.tag]: bytesToText(value as TypedArray) };
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = encode(v);
    return out;
  }
  return value;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    for (const k of TYPED) if (typeof o[k.tag] === "string") return k.make(textToBytes(o[k.tag] as string));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = revive(v);
    return out;
  }
  return value;
}

function bytesToText(a: TypedArray): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

function textToBytes(s: string): ArrayBuffer {
  const b = Buffer.from(s, "base64");
  // Copy into a fresh, aligned ArrayBuffer: Buffer pools may start at odd offsets.
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

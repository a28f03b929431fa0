// The wire codec: the one way values holding typed arrays cross JSON-RPC (model host <-> extension)
// and the extension's saved panel state. API (docs/wire.md): toWire(value) -> Wire<T> for the
// channel, toJsonWire(value) for JSON text (files), and fromWire(wire) -> T for either.
// The extension starts the host over Node's IPC channel with V8 serialisation (hostClient.ts), which
// carries typed arrays as raw bytes: there the host calls useBinaryWire() and toWire leaves typed
// arrays as they are. Over a text channel (the host on stdio, as the tests start it) and in JSON
// files every typed array becomes `{ <tag>: <base64 of its bytes> }`; TYPED lists the kinds (add one
// line for another array type). Node only (Buffer); webviews receive typed arrays directly through
// postMessage.

import type { Wire } from "./wireType";

export type { Wire };

type TypedArray = Float32Array | Int32Array;

/** The typed arrays the codec carries, each under its tag. */
const TYPED: { tag: string; is(v: unknown): v is TypedArray; make(b: ArrayBuffer): TypedArray }[] = [
  { tag: "$b64f32", is: (v): v is Float32Array => v instanceof Float32Array, make: (b) => new Float32Array(b) },
  { tag: "$b64i32", is: (v): v is Int32Array => v instanceof Int32Array, make: (b) => new Int32Array(b) },
];

let binaryChannel = false;

/** The argument with which the extension starts the host on an IPC channel with V8 serialisation. */
export const BINARY_WIRE_ARG = "--wire=binary";

/**
 * Whether this process's channel carries typed arrays as bytes: it was started on Node's IPC
 * channel (`--node-ipc`) with `serialization: "advanced"`, which its parent says with
 * BINARY_WIRE_ARG (Node keeps the channel's mode to itself).
 */
export function channelIsBinary(argv: readonly string[] = process.argv): boolean {
  return typeof process.send === "function" && argv.includes("--node-ipc") && argv.includes(BINARY_WIRE_ARG);
}

/** From now on toWire leaves typed arrays as they are (the channel carries them as bytes); false: text again. */
export function useBinaryWire(on: boolean): void {
  binaryChannel = on;
}

/**
 * Wraps a binary channel's send so that a message V8 cannot serialise (a function or a symbol
 * somewhere in it, which JSON would have dropped) goes as JSON text with tagged typed arrays, as
 * on a text channel, instead of failing the send and leaving its request unanswered.
 */
export function withTextFallback<A extends unknown[], R>(send: (message: unknown, ...rest: A) => R): (message: unknown, ...rest: A) => R {
  return (message, ...rest) => {
    try {
      return send(message, ...rest);
    } catch (e) {
      // Node's serialiser says "<value> could not be cloned." (a browser's, DataCloneError).
      if (!(e instanceof Error && /could not be cloned|DataCloneError/.test(`${e.name} ${e.message}`))) throw e;
      return send(JSON.parse(JSON.stringify(encode(message))), ...rest);
    }
  };
}

/** For the channel: typed arrays as they are on a binary channel (useBinaryWire), else as tagged text. */
export function toWire<T>(value: T): Wire<T> {
  return (binaryChannel ? value : encode(value)) as Wire<T>;
}

/** For JSON text (files, saved state): every typed array as tagged base64, whatever the channel. */
export function toJsonWire<T>(value: T): Wire<T> {
  return encode(value) as Wire<T>;
}

/**
 * Inverse of toWire and toJsonWire: every typed array comes back in a buffer of its own (tagged text
 * decoded; one that arrived as bytes copied out of the message's buffer when it is a view into a
 * larger one, so keeping it keeps nothing else alive and posting it to a webview posts only it).
 */
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
  if (ArrayBuffer.isView(value)) return ownBuffer(value);
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

function ownBuffer(v: ArrayBufferView): ArrayBufferView {
  const kind = TYPED.find((k) => k.is(v));
  if (!kind || (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength)) return v;
  const out = new ArrayBuffer(v.byteLength);
  new Uint8Array(out).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return kind.make(out);
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

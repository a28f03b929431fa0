// Reused output buffers for repeated forward passes of the same shape.
//
// Why: onnxruntime-node 1.30 copies every fetched output into a new ArrayBuffer, and onnxruntime
// allocates each fetched output afresh outside its memory plan. Fresh memory is the expensive part
// where first-touch page faults are slow (measured on a 2-core VM: touching 98 MiB of new memory took
// 0.4 s of CPU, re-writing it 5 ms). Handing onnxruntime pre-made output tensors (`fetches` given as
// `{ name: Tensor }`) makes it write into buffers that are already mapped; kept across runs of the
// same shape, only the binding's copy remains. At 512 tokens on GPT-2 small, fetching logits plus
// every resid_* and mlp.hook_post output then faults in about as much new memory as fetching the
// logits alone (~100 MiB instead of ~207 MiB per run).
//
// Ownership: the pool's buffers are scratch that onnxruntime writes into; callers never see them.
// onnxruntime-node 1.30 returns a fresh copy for a pre-made output, which is what callers get. Newer
// bindings return the pre-made tensor itself (and stop copying outputs at all): the pool notices that
// (same buffer back), copies that run's outputs out, and switches itself off.
import * as ort from "onnxruntime-node";

/** What the pool needs from an onnxruntime session (a fake in tests). */
export interface RunsSessions {
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: readonly string[] | Record<string, ort.Tensor | null>,
  ): Promise<Record<string, ort.OnnxValue>>;
}

export interface OutputPoolStats {
  /** Runs that wrote into reused buffers. */
  reused: number;
  /** Bytes of the buffers held now. */
  heldBytes: number;
  /** Why reuse stopped, when it did. */
  off?: string;
}

/** An output as the binding returned it: type, dims, and its typed array's constructor and length. */
type Shape = { type: ort.Tensor.Type; dims: readonly number[]; make: DataCtor; length: number; bytes: number };

/** Below this a run's outputs come from memory the allocator already has; not worth holding. */
const MIN_BYTES = 1 << 20;
/** Run keys remembered for the "seen twice" rule. */
const SEEN = 4;

export class OutputPool {
  /** Sessions and run keys seen recently (a few, newest last), so a second run with a key can pre-make its outputs. */
  private seen: { session: RunsSessions; key: string }[] = [];
  private held?: { session: RunsSessions; key: string; tensors: Map<string, ort.Tensor>; busy: boolean; bytes: number };
  private reused = 0;
  private off?: string;

  /** `maxBytes`: the largest set of outputs kept for reuse (0 = never reuse). */
  constructor(private readonly maxBytes: number) {
    if (maxBytes <= 0) this.off = "disabled by the reuseOutputBytes option";
  }

  stats(): OutputPoolStats {
    return { reused: this.reused, heldBytes: this.held?.bytes ?? 0, ...(this.off ? { off: this.off } : {}) };
  }

  /** Drops the buffers held for a session that is going away. */
  forget(session: RunsSessions): void {
    if (this.held?.session === session) this.held = undefined;
    this.seen = this.seen.filter((x) => x.session !== session);
  }

  /** Drops the held buffers (the memory goes back at the next garbage collection). */
  clear(): void {
    this.held = undefined;
    this.seen = [];
  }

  /**
   * `session.run(feeds, names)`, writing into reused buffers when the same session was run with the
   * same feed shapes and fetch names before. Returns outputs the caller owns.
   */
  async run(session: RunsSessions, feeds: Record<string, ort.Tensor>, names: string[]): Promise<Record<string, ort.Tensor>> {
    const key = runKey(feeds, names);
    const held = this.held;
    if (!this.off && held && held.session === session && held.key === key && !held.busy) {
      held.busy = true;
      let raw: Record<string, ort.OnnxValue>;
      try {
        raw = await session.run(feeds, Object.fromEntries(held.tensors));
      } catch {
        // A shape that depends on the input values, not only on the feed shapes: onnxruntime rejects
        // the pre-made tensor. Run as usual and stop pre-making for this key.
        this.held = undefined;
        this.seen = [];
        return (await session.run(feeds, names)) as Record<string, ort.Tensor>;
      } finally {
        held.busy = false;
      }
      this.reused++;
      return this.handOut(raw as Record<string, ort.Tensor>, held.tensors);
    }
    const raw = (await session.run(feeds, names)) as Record<string, ort.Tensor>;
    if (!this.off) this.remember(session, key, raw, names);
    return raw;
  }

  /** Outputs safe to give away: never the pool's own buffers. */
  private handOut(raw: Record<string, ort.Tensor>, own: Map<string, ort.Tensor>): Record<string, ort.Tensor> {
    let shared = false;
    const out: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(raw)) {
      const mine = own.get(name);
      if (mine && sameBuffer(t, mine)) {
        shared = true;
        out[name] = new ort.Tensor(t.type, copyData(t.data), t.dims);
      } else out[name] = t;
    }
    if (shared) {
      // This binding returns pre-made tensors as they are (and so no longer copies outputs): reuse
      // would only add a copy.
      this.off = "the onnxruntime binding returns pre-made output tensors themselves";
      this.held = undefined;
      this.seen = [];
    }
    return out;
  }

  private remember(session: RunsSessions, key: string, raw: Record<string, ort.Tensor>, names: string[]): void {
    const shapes = new Map<string, Shape>();
    let bytes = 0;
    for (const name of names) {
      const t = raw[name];
      if (!t || t.location !== "cpu" || !ArrayBuffer.isView(t.data)) return; // strings, device tensors: leave as is
      const data = t.data as ArrayBufferView & { length: number };
      shapes.set(name, {
        type: t.type,
        dims: [...t.dims],
        make: data.constructor as DataCtor,
        length: data.length,
        bytes: data.byteLength,
      });
      bytes += data.byteLength;
    }
    if (bytes < MIN_BYTES || bytes > this.maxBytes) return;
    const i = this.seen.findIndex((x) => x.session === session && x.key === key);
    if (i < 0) {
      // First time: only note the key. Shapes that keep changing (decoding, growing prompts) never get
      // buffers; a shape run twice (also with other runs in between) does.
      this.seen.push({ session, key });
      if (this.seen.length > SEEN) this.seen.shift();
      return;
    }
    this.seen.splice(i, 1);
    const tensors = new Map<string, ort.Tensor>();
    for (const [name, s] of shapes) tensors.set(name, new ort.Tensor(s.type, new s.make(s.length), s.dims));
    this.held = { session, key, tensors, busy: false, bytes };
  }
}

function runKey(feeds: Record<string, ort.Tensor>, names: string[]): string {
  const shapes = Object.keys(feeds)
    .sort()
    .map((k) => `${k}:${feeds[k].type}:${feeds[k].dims.join("x")}`);
  return JSON.stringify([shapes, names]);
}

function sameBuffer(a: ort.Tensor, b: ort.Tensor): boolean {
  return ArrayBuffer.isView(a.data) && ArrayBuffer.isView(b.data) && a.data.buffer === b.data.buffer;
}

type NumericData = Exclude<ort.Tensor.DataType, string[]>;
type DataCtor = new (n: number) => NumericData;

function copyData(d: ort.Tensor.DataType): NumericData {
  return (d as NumericData).slice() as NumericData;
}

// Plain onnxruntime-node on the unmodified graph: the physical limit the figures divide by.

import * as ort from "onnxruntime-node";
import { disableOrtTelemetry } from "../../src/launch/ortTelemetry";

// Every bench process loads this module before creating a session: no onnxruntime telemetry (children inherit it).
disableOrtTelemetry();

export const THREADS = 2;

let passive = false;

/**
 * Passive waiting: onnxruntime's intra-op threads and PyTorch's OpenMP threads spin while idle by
 * default, which is fastest on an idle machine and ruinous on a loaded one (measured here under a
 * load of 14 on 2 cores: ORT 1.27 s -> 0.43 s, PyTorch 4.4 s -> 1.0 s for one 64-token forward).
 * The plain sessions (sessionOptions()) and the engine (its default) always wait passively; with
 * --passive the reference's OpenMP threads (OMP_WAIT_POLICY) do too.
 */
export function usePassiveWaiting(): void {
  passive = true;
  process.env.OMP_WAIT_POLICY = "PASSIVE";
}

export function passiveWaiting(): boolean {
  return passive;
}

/** The session options both the plain and the engine side use (2 intra-op threads, as PyTorch). */
export function sessionOptions(): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    // Not spinning: one session's threads gain nothing from it (a decode then a 32-token forward on
    // one GPT-2-small session: 51-57 ms either way), and the bench times this session in turn with
    // the engine's, whose first pass would run beside this one's spinning threads.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
}

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
}

export class PlainModel {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly kv: KvShape,
    readonly hasPositionIds: boolean,
  ) {}

  static async open(onnxPath: string, kv: KvShape): Promise<PlainModel> {
    const session = await ort.InferenceSession.create(onnxPath, sessionOptions());
    return new PlainModel(session, kv, session.inputNames.includes("position_ids"));
  }

  /** Feeds for `ids` after `pastLen` cached tokens; `past` = the previous call's presents. */
  feeds(ids: number[], pastLen: number, past?: ort.Tensor[]): Record<string, ort.Tensor> {
    const n = ids.length;
    const f: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(ids, BigInt), [1, n]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(pastLen + n).fill(1n), [1, pastLen + n]),
    };
    if (this.hasPositionIds) {
      f.position_ids = new ort.Tensor(
        "int64",
        BigInt64Array.from({ length: n }, (_, i) => BigInt(pastLen + i)),
        [1, n],
      );
    }
    const { layers, kvHeads, headDim } = this.kv;
    for (let i = 0; i < layers; i++) {
      for (const [j, kind] of ["key", "value"].entries()) {
        f[`past_key_values.${i}.${kind}`] = past?.[2 * i + j] ?? new ort.Tensor("float32", new Float32Array(0), [1, kvHeads, 0, headDim]);
      }
    }
    return f;
  }

  /** One full-sequence forward with an empty cache; returns every output. */
  async forward(ids: number[]): Promise<ort.InferenceSession.OnnxValueMapType> {
    return this.session.run(this.feeds(ids, 0));
  }

  async logits(ids: number[]): Promise<Float32Array> {
    return (await this.forward(ids)).logits.data as Float32Array;
  }

  /** Greedy decoding with past_key_values; returns the new tokens. */
  async generate(prompt: number[], newTokens: number): Promise<number[]> {
    let out = await this.session.run(this.feeds(prompt, 0));
    let len = prompt.length;
    const tokens: number[] = [];
    // n tokens = the prompt pass + n-1 single-token passes, as the engine's generate() does.
    for (let step = 0; step < newTokens; step++) {
      const next = argmaxLast(out.logits);
      tokens.push(next);
      if (step === newTokens - 1) break;
      const presents: ort.Tensor[] = [];
      for (let i = 0; i < this.kv.layers; i++) presents.push(out[`present.${i}.key`], out[`present.${i}.value`]);
      out = await this.session.run(this.feeds([next], len, presents));
      len += 1;
    }
    return tokens;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Index of the largest logit at the last position of a [1, seq, vocab] tensor. */
export function argmaxLast(logits: ort.Tensor): number {
  const vocab = logits.dims[2];
  const data = logits.data as Float32Array;
  const off = data.length - vocab;
  let best = 0;
  for (let i = 1; i < vocab; i++) if (data[off + i] > data[off + best]) best = i;
  return best;
}

/** The two best ids at the last position, best first. */
export function top2Last(logits: Float32Array, vocab: number): [number, number] {
  const off = logits.length - vocab;
  let a = -1;
  let b = -1;
  for (let i = 0; i < vocab; i++) {
    const v = logits[off + i];
    if (a < 0 || v > logits[off + a]) {
      b = a;
      a = i;
    } else if (b < 0 || v > logits[off + b]) b = i;
  }
  return [a, b];
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** The execution provider the bench's sessions use (plain sessions and the engine's). */
export function benchProvider(): string {
  return "cpu";
}

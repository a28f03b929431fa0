// The shapes of a forward pass on an open model (LoadedModel.run / decodeStep): what is asked
// (capture, steer, patch), what comes back, and the options of its sessions.
import type { ExpertIntervention } from "../experts/types";
import type * as ort from "onnxruntime-node";
import type { ActivationTensor, CancelToken, HookName } from "../types";

export interface SessionOptions {
  /** Threads for one operator (onnxruntime intra-op); default: onnxruntime's choice. */
  intraOpThreads?: number;
  /** onnxruntime graph optimisation level; default "all". */
  graphOptimization?: "disabled" | "basic" | "extended" | "all";
  /** Where edited graphs go (default $INTROSPECT_CACHE_DIR, else $XDG_CACHE_HOME/introspect or ~/.cache/introspect); never the model's folder. */
  cacheDir?: string;
  /** "cache": pass the weights to onnxruntime as buffers instead of hard-linking them beside the edited graph. */
  editLocation?: "auto" | "cache";
  /** onnxruntime's MatMul weight prepacking (default true): faster forwards, but session creation is
   * slower (~9 s vs ~1 s for GPT-2 small on 2 busy cores) and memory grows by the packed copies. */
  prepackWeights?: boolean;
  /** MatMul weights larger than this many bytes are written as row blocks, so a session's start holds
   * one block twice while onnxruntime prepacks it, not the whole matrix (surgery/splitWeights.ts;
   * default 128 MiB; 0 turns it off). */
  splitWeightsAbove?: number;
  /** How many edited sessions stay open (default 3). */
  maxSessions?: number;
  /** Whether onnxruntime's intra-op threads spin while waiting for work (default false; onnxruntime's
   * own default is true). Each session has its own threads and the engine runs several in turn, so
   * spinning threads of the session that just ran take the cores from the next: on GPT-2 small, a
   * 1-token pass then a 32-token pass on another session took 96-116 ms spinning, 55-65 ms not (on
   * one session, 51-57 ms either way); under a load of 14 on 2 cores a forward took 1.27 s spinning
   * vs 0.43 s not. */
  allowSpinning?: boolean;
  /** Where onnxruntime runs: cpu (default), cuda, coreml, dml, webgpu; unavailable ones fall back to CPU (provider.ts). */
  executionProvider?: string;
  /** Bytes of captured sites a pass may leave exposed as graph outputs (default 512 MiB, or
   * $INTROSPECT_OUTPUT_BUDGET_BYTES). onnxruntime holds every graph output of a run until the run
   * ends, fetched or not, so a pass whose every-site outputs would exceed this runs a session that
   * exposes only the sites it captures (one more session per capture set: outputsFor in loaded.ts). */
  outputBudgetBytes?: number;
}

/** Variants of an edited session beyond its sites. */
export interface SessionVariant {
  /** `logits` holds only the last position ([batch, 1, vocab]) where the graph allows it. */
  lastLogits?: boolean;
  /** Sites with a zero-below-threshold input (EditSet.zeroBelow). */
  zeroBelow?: HookName[];
  /** MoE layers with expert-intervention inputs (EditSet.experts). */
  experts?: number[];
  /** The only sites exposed as outputs (default: every mapped site). */
  outputs?: HookName[];
}

/** Adds `scale * vector` to a site at every position (vector [d]) or per position (full site shape). */
export interface SteerSpec {
  site: HookName;
  vector: Float32Array | ActivationTensor;
  scale?: number;
}

/** Replaces a site's value at `positions` (every batch row) with `values` (the site's full shape). */
export interface PatchSpec {
  site: HookName;
  positions: number[];
  values: ActivationTensor;
}

export interface RunRequest {
  /** One prompt (results without batch dimension) or a batch (rows right-padded, masked). */
  ids: number[] | number[][];
  capture?: HookName[];
  steer?: SteerSpec[];
  patch?: PatchSpec[];
  /** Expert interventions (off, forced, router bias, top-k), fed to the edited graph's expert inputs. */
  experts?: ExpertIntervention[];
  /** Sites to build steering / patching inputs for even when unused now, so one session serves a sweep;
   * `experts`: MoE layers to build expert inputs for. */
  prepare?: { steer?: HookName[]; patch?: HookName[]; experts?: number[] };
  /** Entries of a site with |x| below `threshold` set to 0 (sparsity experiments); captures show the zeroed values. */
  zeroBelow?: Array<{ site: HookName; threshold: number }>;
  /** "last": the pass unembeds only the last position (logits [1, vocab] for one prompt, [batch, 1, vocab]
   * for a batch: its last column, which is padding for a shorter row) where the graph allows it, for callers that read captures only: at a 128 k vocabulary
   * the head is a fifth of a forward's arithmetic. Captures are unchanged. Default "all". */
  logits?: "all" | "last";
  cancel?: CancelToken;
}

export interface RunResult {
  /** [seq, vocab] for one prompt, [batch, seq, vocab] for a batch. */
  logits: ActivationTensor;
  captures: Map<HookName, ActivationTensor>;
}

/** Key/value cache between decode steps (onnxruntime tensors, kept opaque). */
export interface KvCache {
  length: number;
  tensors: Map<string, ort.Tensor>;
}

export interface DecodeResult {
  /** [batch, newTokens, vocab]. */
  logits: ActivationTensor;
  cache: KvCache;
  captures: Map<HookName, ActivationTensor>;
}

export interface EditedSession {
  session: ort.InferenceSession;
  /** Runs in flight; an evicted session is released when this drops to zero. */
  busy?: number;
  evicted?: boolean;
  /** Graph output to read for each site. */
  outputs: Map<HookName, string>;
}

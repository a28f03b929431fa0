// "Compare with…" in the probe panel: the probed text run through a second model (another variant
// of the folder, a fine-tuned copy) and compared with the loaded one, layer by layer and token by
// token. The host computes it with the engine's two-model diff (src/engine/shift/diff.ts) and
// answers toWire(ModelComparison); the panel draws it (webview/probe/modelDiffView.ts).
import { RequestType } from "vscode-languageserver-protocol";
import type { DiffSummary } from "../engine/shapes";
import type { Wire } from "./wireType";

/** The second model: a folder (with a variant name, e.g. "q4") or a .onnx file. */
export interface ModelRef {
  path: string;
  /** Transformers.js variant name (fp32, q4, int8, ...); absent: the folder's default. */
  variant?: string;
}

export interface CompareModelsParams {
  /** The probed text (context and selection), as the probe sent it. */
  text: string;
  /** The probe's token ids: the host checks that it reads the text the same way. */
  ids: number[];
  /** Half-open token range compared and shown (the probe's selected tokens). */
  selection: { start: number; end: number };
  /** The probe's model id: the loaded model must still be the one probed. */
  modelId: string;
  /** The probe this comparison belongs to (echoed in the result). */
  probeId?: string;
  modelB: ModelRef;
}

export interface ModelComparison {
  probeId?: string;
  /** Short names: `a` the loaded model (the reference), `b` the one compared with it. */
  a: string;
  b: string;
  /** What B is, for the heading and the CSV (its file, relative to its folder's parent). */
  bFile: string;
  modelB: ModelRef;
  /** The compared tokens (the selection); `offset` is the first one's index among the probe's tokens. */
  tokens: Array<{ id: number; text: string }>;
  offset: number;
  layers: number;
  sites: string[];
  /** [layers * tokens], layer-major: |a − b|, cos(a, b), |a − b| / |a| of each layer's output. */
  norm: Float32Array;
  cosine: Float32Array;
  relative: Float32Array;
  meanRelative: Float32Array;
  /** Per token: KL(P_a ‖ P_b) of the next-token distributions (nats), each side's top-1 id. */
  kl: Float32Array;
  top1A: Int32Array;
  top1B: Int32Array;
  /** Decoded text of every top-1 id. */
  vocab: Record<number, string>;
  summary: DiffSummary;
}

/**
 * Client -> host request (probe panel, "Compare with…"): open model B, run the probed text through
 * both, compare; B is disposed before the answer. Refused with one sentence when B's layers, width,
 * vocabulary or tokenizer differ from the loaded model's. Cancellable.
 */
export namespace CompareModelsRequest {
  export const method = "introspect/compareModels" as const;
  export const type = new RequestType<CompareModelsParams, Wire<ModelComparison>, void>(method);
}

/** Extension -> probe panel: the comparison of probe `probeId` (null clears it), or its progress / failure. */
export type CompareToWebview =
  | { type: "introspect/modelComparison"; comparison: ModelComparison | null }
  | { type: "introspect/modelComparisonStatus"; probeId?: string; status: { kind: "running" | "failed"; message: string } };

/** Probe panel -> extension: run "Compare with…" on the shown probe, or close the comparison. */
export type CompareFromWebview = { type: "introspect/compareWith" } | { type: "introspect/compareClose" };

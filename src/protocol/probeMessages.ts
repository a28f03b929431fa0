// Host messages of the probe panel: a probe, its follow-ups (neurons, attention), sparsity.
// Declared once, re-exported by src/protocol/lsp.ts; each message says who sends it and why.
import { RequestType } from "vscode-languageserver-protocol";
import type { AttentionData, AttentionRequest, LensChunk, NeuronData, NeuronRequest, ProbeResult } from "./probeData";
import type { ExpertIntervention } from "../engine/shapes";
import type { Wire } from "./wireType";

/** MLP activation sparsity per layer over a probed text (probe panel's sparsity chart). */
export interface SparsityParams {
  /** The probed tokens (perplexity is measured on them). */
  ids: number[];
  /** Magnitude for the below-threshold share. */
  threshold: number;
  /** Perplexity rises (percent) for PPL-p% sparsity. */
  ps: number[];
}

export interface SparsityResult {
  layers: Array<{ layer: number; exactZero: number; belowThreshold: number; ppl: number[] }>;
  ppl: Array<{ p: number; share: number; threshold: number; baseline: number; ppl: number }>;
  threshold: number;
}

/** Client -> host request (probe panel): exact-zero, below-threshold and PPL-p% sparsity per layer. */
export namespace SparsityRequest {
  export const method = "introspect/sparsity" as const;
  export const type = new RequestType<SparsityParams, SparsityResult, void>(method);
}

export interface ProbeParams {
  /** Document the text comes from (for the panel title and the editor tint). */
  uri: string;
  /** The probed text: by default the document up to the selection's end. */
  text: string;
  /** UTF-16 range of `text` whose tokens are shown (the heatmap columns). */
  selection: { start: number; end: number };
  /** introspect token budget: more selected tokens than this is refused with a sentence. */
  maxTokens?: number;
  neuronLayer?: number;
  neuronCount?: number;
  attention?: AttentionRequest;
  /** Selected tokens whose logit lens comes with the result (default all); the panel asks for the
   * rest with ProbeLensRequest (introspect.probe.lensTokens). */
  lensTokens?: number;
  /** Expert interventions for the probed pass (a prompt file's `experts` lines, src/protocol/expertLines.ts). */
  experts?: ExpertIntervention[];
}

/**
 * Client -> host request: probe a selection (one forward pass + logit lens). The result is a
 * ProbeResult (src/protocol/probeData.ts) encoded with `toWire` (typed arrays as bytes on the
 * extension's IPC channel, as base64 on a text one);
 * decode with `fromWire<ProbeResult>` before posting it to the probe panel.
 */
export namespace ProbeRequest {
  export const method = "introspect/probe" as const;
  export const type = new RequestType<ProbeParams, Wire<ProbeResult>, void>(method);
}

/** Client -> host request: top-k MLP neurons of another layer of probe `probeId`; result toWire(NeuronData). */
export namespace ProbeNeuronsRequest {
  export const method = "introspect/probeNeurons" as const;
  export const type = new RequestType<NeuronRequest & { probeId: string }, Wire<NeuronData>, void>(method);
}

/** Client -> host request: attention of another layer/head of probe `probeId`; result toWire(AttentionData). */
export namespace ProbeAttentionRequest {
  export const method = "introspect/probeAttention" as const;
  export const type = new RequestType<AttentionRequest & { probeId: string }, Wire<AttentionData>, void>(method);
}

/** Client -> host request: the logit lens of selected-token columns [start, end) of probe `probeId`,
 * for a probe made with fewer lensTokens than it selected; result toWire(LensChunk). */
export namespace ProbeLensRequest {
  export const method = "introspect/probeLens" as const;
  export const type = new RequestType<{ probeId: string; start: number; end: number }, Wire<LensChunk>, void>(method);
}

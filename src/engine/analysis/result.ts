// The result of one probe, as the engine computes it (src/engine/analysis/probe.ts) and the probe
// panel (webview/probe) draws it: types only. The engine owns them; src/protocol/probeData.ts
// re-exports them with the codec that moves them across process boundaries. Tensors stay typed
// arrays with dims, row-major. Which analysis fills which field is declared in registry.ts.
import type { LayerMetricName } from "./layerMetrics";

/** A row-major float tensor. Same shape as the engine's ActivationTensor. */
export interface ProbeTensor {
  dims: number[];
  data: Float32Array;
}

/** A row-major integer tensor (token ids, neuron and expert indices). */
export interface ProbeIntTensor {
  dims: number[];
  data: Int32Array;
}

/** One token of the probed text. */
export interface ProbeToken {
  id: number;
  /** Decoded text of this token alone (may be "", whitespace, or anything, `<script>` included). */
  text: string;
  /** Vocabulary piece, e.g. `Ġthe` or `<0x0A>`; lets the panel mark byte tokens. */
  piece: string;
  /** UTF-16 range in the probed document; empty for added special tokens. */
  span: { start: number; end: number };
  /** Whether the token is in the user's selection (shown as a column) or only context. */
  selected: boolean;
}

// The per-layer x per-token scalars of the layer heatmap are listed once, in layerMetrics.ts
// (LAYER_METRICS there; the panel's order is that of webview/probe/metrics.ts).
export type { LayerMetricName } from "./layerMetrics";

/**
 * The probe panel's views (the `data-view` of each section under webview/probe/); each analysis in
 * registry.ts names the one that draws it.
 */
export type ProbeView = "layers" | "lens" | "neurons" | "attention" | "moe";

/** Logit lens: every layer's residual through the final norm and the unembedding. */
export interface LogitLensData {
  k: number;
  /** [layers, selectedTokens, k] token ids, best first. */
  ids: ProbeIntTensor;
  /** [layers, selectedTokens, k] probabilities of those ids. */
  probs: ProbeTensor;
  /** Decoded text of every id that appears in `ids` (and of the actual next tokens). */
  vocab: Record<number, string>;
  /** Selected-token columns [start, end) whose lens is computed, when not all are: the rest hold
   * ids -1 (and NaN in the lens metrics) until an introspect/probeLens chunk fills them
   * (mergeLensChunk). Absent: every column. */
  computed?: { start: number; end: number }[];
}

/** The logit lens of selected-token columns [start, end) at every layer (ProbeSession.lens). */
export interface LensChunk {
  start: number;
  end: number;
  k: number;
  /** [layers, end - start, k] ids (-1 pads) and their probabilities. */
  ids: ProbeIntTensor;
  probs: ProbeTensor;
  /** [layers, end - start]: the lens metrics of the layer heatmap. */
  nextProb: ProbeTensor;
  entropy: ProbeTensor;
  vocab: Record<number, string>;
}

/** MLP neuron activations (`blocks.{L}.mlp.hook_post`) of the top-k neurons of one layer. */
export interface NeuronData {
  layer: number;
  /** Neuron indices, ranked by max |activation| over the selected tokens, largest first. */
  neurons: Int32Array;
  /** [k, allTokens]: each neuron's activation at every probed token (context included). */
  values: ProbeTensor;
  /** Width of the MLP (how many neurons the ranking chose from). */
  dMlp: number;
}

/** Attention of one layer and head, or why it cannot be shown. */
export type AttentionData =
  | {
      kind: "pattern";
      layer: number;
      head: number;
      numHeads: number;
      /** [queries, keys]: row q is the attention of token queryStart + q over tokens 0..keys-1. */
      pattern: ProbeTensor;
      /** Token index of the first query row (the selection's start unless every token was asked for). */
      queryStart?: number;
    }
  | { kind: "unavailable"; layer: number; head: number; numHeads: number; reason: string };

/** Mixture-of-experts routing over the selected tokens. */
export interface MoeData {
  numExperts: number;
  /** Experts per token used by the model. */
  k: number;
  /** [layers, selectedTokens, k] chosen experts, highest router probability first. */
  experts: ProbeIntTensor;
  /** [layers, selectedTokens, k] router probabilities (softmax over all experts) of those experts. */
  probs: ProbeTensor;
  /** [layers, numExperts]: how many selected tokens each expert received. */
  usage: ProbeTensor;
}

/** One hidden dimension whose magnitude dwarfs the rest of its layer. */
export interface MassiveActivation {
  layer: number;
  /** Site the flag was computed on, e.g. `blocks.3.hook_resid_post`. */
  site: string;
  dim: number;
  maxAbs: number;
  /** Median |value| of the whole layer tensor (all tokens, all dims). */
  layerMedianAbs: number;
  /** Indices into ProbeResult.tokens where |value| exceeds the threshold. */
  tokens: number[];
}

/** What a probe left out of a prompt longer than the model's positions (contextWindow.ts). */
export interface ContextCut {
  totalTokens: number;
  positions: number;
  /** Token indices of the original prompt that were probed: [keptFrom, keptTo), after a kept start token. */
  keptFrom: number;
  keptTo: number;
  droppedBefore: number;
  droppedAfter: number;
  keptBos: boolean;
  /** One sentence for the panel's warning. */
  message: string;
}

export interface ProbeResult {
  /** Bumped when the shape changes, so a restored panel can refuse old state. */
  version: 1;
  /** Names this probe for follow-up requests (another layer's neurons, another head); set by the host. */
  id?: string;
  model: {
    id: string;
    architecture: string;
    numLayers: number;
    dModel: number;
    numHeads?: number;
    numExperts?: number;
  };
  /** Every probed token: context before the selection and the selection itself. */
  tokens: ProbeToken[];
  /** Half-open range of token indices that are selected (the heatmap columns). */
  selection: { start: number; end: number };
  /** Rows of the layer heatmap; equals model.numLayers. */
  layerCount: number;
  /** Each metric as [layers, selectedTokens]; NaN where undefined (e.g. no next token). */
  metrics: Record<LayerMetricName, ProbeTensor>;
  /** Id of the token that actually follows each selected token (-1 where the text ends). */
  nextTokenIds: Int32Array;
  logitLens: LogitLensData;
  /** Present when the graph exposes `mlp.hook_post` for at least one layer. */
  neurons?: NeuronData;
  attention?: AttentionData;
  /** Present only for mixture-of-experts models. */
  moe?: MoeData;
  massive: MassiveActivation[];
  /** Sentences for the user, e.g. "attention is fused in this graph: patterns are not available". */
  notes: string[];
  /** Set when the prompt was longer than the model's positions and only a window of it was probed. */
  cut?: ContextCut;
  /** Milliseconds spent in the forward pass and in the analyses (for the benchmark). */
  timing?: { forwardMs: number; analysisMs: number };
}

/** Panel -> host: recompute the neuron view for another layer. */
export interface NeuronRequest {
  layer: number;
  /** How many neurons to rank (default 32). */
  k?: number;
}

/** Panel -> host: show the attention of another layer or head. */
export interface AttentionRequest {
  layer: number;
  head: number;
  /** Query rows: the selected tokens (default) or every token of the prompt. */
  queries?: "selection" | "all";
}

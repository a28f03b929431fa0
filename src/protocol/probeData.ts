// The data of one probe: what the model host computes (src/engine/analysis/probe.ts) and the probe
// panel (webview/probe) draws. Types only plus the two helpers that move tensors across boundaries.
// Tensors stay typed arrays with dims, row-major. To the webview they go as they are (postMessage
// clones typed arrays); over JSON-RPC they go base64-encoded (toWire / fromWire below).

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

/** The four per-layer x per-token scalars of the layer heatmap. */
export type LayerMetricName = "residNorm" | "shift" | "nextTokenProb" | "entropy";

export const LAYER_METRICS: readonly LayerMetricName[] = ["residNorm", "shift", "nextTokenProb", "entropy"];

/** Logit lens: every layer's residual through the final norm and the unembedding. */
export interface LogitLensData {
  k: number;
  /** [layers, selectedTokens, k] token ids, best first. */
  ids: ProbeIntTensor;
  /** [layers, selectedTokens, k] probabilities of those ids. */
  probs: ProbeTensor;
  /** Decoded text of every id that appears in `ids` (and of the actual next tokens). */
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
      /** [selectedTokens, keys]: row q is the attention of selected token q over tokens 0..keys-1. */
      pattern: ProbeTensor;
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
}

/** Panel -> host: tint the probed tokens in the editor with one scalar per token. */
export interface TintRequest {
  /** What the values are, shown in the editor hover, e.g. "L3 neuron 117". */
  label: string;
  /** One value per ProbeResult.tokens entry; NaN leaves a token untinted. */
  values: Float32Array;
  /** Whether values are signed (diverging colours) or magnitudes. */
  signed: boolean;
}

/** Panel -> host: save exported data through a save dialog. */
export interface ExportRequest {
  format: "png" | "csv" | "json";
  suggestedName: string;
  /** PNG bytes, or CSV / JSON text. */
  data: ArrayBuffer | string;
}

// ---- wire helpers -----------------------------------------------------------------------------

/** Accepts a tensor whose data arrived as a typed array, a plain array or an object of indices. */
export function reviveFloat(t: { dims: number[]; data: unknown }): ProbeTensor {
  const d = t.data;
  if (d instanceof Float32Array) return { dims: t.dims, data: d };
  if (d instanceof ArrayBuffer) return { dims: t.dims, data: new Float32Array(d) };
  if (ArrayBuffer.isView(d)) return { dims: t.dims, data: new Float32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
  if (Array.isArray(d)) return { dims: t.dims, data: Float32Array.from(d as number[]) };
  if (d && typeof d === "object") return { dims: t.dims, data: Float32Array.from(Object.values(d) as number[]) };
  throw new Error("tensor data missing");
}

export function reviveInt(t: { dims: number[]; data: unknown }): ProbeIntTensor {
  const d = t.data;
  if (d instanceof Int32Array) return { dims: t.dims, data: d };
  if (d instanceof ArrayBuffer) return { dims: t.dims, data: new Int32Array(d) };
  if (ArrayBuffer.isView(d)) return { dims: t.dims, data: new Int32Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)) };
  if (Array.isArray(d)) return { dims: t.dims, data: Int32Array.from(d as number[]) };
  if (d && typeof d === "object") return { dims: t.dims, data: Int32Array.from(Object.values(d) as number[]) };
  throw new Error("tensor data missing");
}

const B64_TAG = "$b64f32";
const B64_TAG_I = "$b64i32";

/** Replaces every Float32Array / Int32Array in a value by a tagged base64 string, for JSON-RPC. */
export function toWire(value: unknown): unknown {
  if (value instanceof Float32Array) return { [B64_TAG]: bytesToBase64(value) };
  if (value instanceof Int32Array) return { [B64_TAG_I]: bytesToBase64(value) };
  if (Array.isArray(value)) return value.map(toWire);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toWire(v);
    return out;
  }
  return value;
}

/** Inverse of toWire. */
export function fromWire<T>(value: unknown): T {
  return revive(value) as T;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (typeof o[B64_TAG] === "string") return new Float32Array(base64ToBuffer(o[B64_TAG] as string));
    if (typeof o[B64_TAG_I] === "string") return new Int32Array(base64ToBuffer(o[B64_TAG_I] as string));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = revive(v);
    return out;
  }
  return value;
}

function bytesToBase64(a: Float32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
}

function base64ToBuffer(s: string): ArrayBuffer {
  const b = Buffer.from(s, "base64");
  // Copy into a fresh, aligned ArrayBuffer: Buffer pools may start at odd offsets.
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}

// The probe panel's view of a ProbeResult: tensors revived (they may arrive as typed arrays,
// ArrayBuffers or plain arrays depending on the path), metric descriptions, shared context.
import {
  reviveFloat,
  reviveInt,
  type AttentionData,
  type LayerMetricName,
  type NeuronData,
  type ProbeResult,
  type ProbeToken,
} from "../../src/protocol/probeData";
import type { FromWebview, RequestClient } from "../../src/protocol/webview";
import { fmt } from "../shared/dom";
import { pct } from "../shared/format";
import { METRICS } from "./metrics";

export interface UiState {
  metric: LayerMetricName;
  /** First token column shown in the logit-lens table. */
  lensStart: number;
  /** The logit lens as a grid of top-1 tokens (the default) or as the top-5 table. */
  lensMode?: "grid" | "table";
  moeLayer: number | "all";
  /** Selected token whose layer x expert routing the expert view shows. */
  moeToken?: number;
  /** Clip the layer heatmap's colours at Tukey fences, quartiles -/+ 3 IQR (massive activations saturate). */
  clip: boolean;
  /** Probe id of the pin the compare view's difference is taken against. */
  compareWith?: string;
}

export interface PanelContext {
  result: ProbeResult;
  /** The selected tokens, in order (the heatmap columns). */
  sel: ProbeToken[];
  client: RequestClient;
  post(msg: FromWebview): void;
  state: UiState;
  saveState(): void;
  /** Called when a token column is selected anywhere, so other views can follow it. */
  onTokenFocus(col: number): void;
  /** Draws the panel again (after a UI choice that changes several views). */
  rerender?(): void;
  /** The lens view shows selected-token columns [start, end): asked for first while the lens is filling. */
  lensWant?(start: number, end: number): void;
}

export { METRICS, type MetricInfo } from "./metrics";

export function reviveNeurons(n: NeuronData): NeuronData {
  return { ...n, neurons: reviveInt({ dims: [0], data: n.neurons }).data, values: reviveFloat(n.values) };
}

export function reviveAttention(a: AttentionData): AttentionData {
  return a.kind === "pattern" ? { ...a, pattern: reviveFloat(a.pattern) } : a;
}

/** Checks the shape a panel relies on and revives every tensor; throws a sentence on bad data. */
export function reviveResult(r: ProbeResult): ProbeResult {
  if (!r || r.version !== 1 || !Array.isArray(r.tokens))
    throw new Error("This probe result comes from another version of Introspect: probe again.");
  const metrics = {} as ProbeResult["metrics"];
  for (const k of Object.keys(METRICS) as LayerMetricName[]) metrics[k] = reviveFloat(r.metrics[k]);
  return {
    ...r,
    metrics,
    nextTokenIds: reviveInt({ dims: [0], data: r.nextTokenIds }).data,
    logitLens: { ...r.logitLens, ids: reviveInt(r.logitLens.ids), probs: reviveFloat(r.logitLens.probs) },
    neurons: r.neurons ? reviveNeurons(r.neurons) : undefined,
    attention: r.attention ? reviveAttention(r.attention) : undefined,
    moe: r.moe
      ? { ...r.moe, experts: reviveInt(r.moe.experts), probs: reviveFloat(r.moe.probs), usage: reviveFloat(r.moe.usage) }
      : undefined,
  };
}

/** Top-k logit-lens entries at (layer, selected token). */
export function lensAt(r: ProbeResult, layer: number, col: number): { text: string; id: number; p: number }[] {
  const n = r.selection.end - r.selection.start;
  const k = r.logitLens.k;
  const out: { text: string; id: number; p: number }[] = [];
  for (let j = 0; j < k; j++) {
    const i = (layer * n + col) * k + j;
    const id = r.logitLens.ids.data[i];
    if (id < 0) continue;
    out.push({ id, text: r.logitLens.vocab[id] ?? `<${id}>`, p: r.logitLens.probs.data[i] });
  }
  return out;
}

export function metricValue(r: ProbeResult, m: LayerMetricName, layer: number, col: number): number {
  return r.metrics[m].data[layer * (r.selection.end - r.selection.start) + col];
}

export function formatMetric(m: LayerMetricName, v: number): string {
  return m === "nextTokenProb" ? (Number.isNaN(v) ? "n/a (no next token)" : pct(v)) : fmt(v);
}

// Which view of the probe panel draws each analysis, in the registry's order. Data only and
// browser-safe, so the panel (webview/probe/main.ts) lays out its sections from it without loading
// the engine; registry.ts lists its analyses in this order, and its field names come from here.
import type { ProbeView } from "./result";

export const ANALYSIS_VIEWS = {
  metrics: "layers",
  logitLens: "lens",
  massive: "layers",
  neurons: "neurons",
  attention: "attention",
  moe: "moe",
} as const satisfies Record<string, ProbeView>;

/** The ProbeResult fields analyses fill. */
export type AnalysisField = keyof typeof ANALYSIS_VIEWS;

/** The panel's analysis views, each once, in the order of the registry. */
export function panelViews(): ProbeView[] {
  return [...new Set<ProbeView>(Object.values(ANALYSIS_VIEWS))];
}

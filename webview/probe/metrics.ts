// How the probe panel describes each per-layer metric of the layer heatmap (label, colour scale,
// explanation). Keyed by the engine's LAYER_METRIC_DEFS (src/engine/analysis/layerMetrics.ts), so
// a metric added there does not type-check until it is described here.
import type { LayerMetricName } from "../../src/protocol/probeData";
import type { ScaleName } from "../shared/colors";

export interface MetricInfo {
  label: string;
  scale: ScaleName;
  fixed?: [number, number];
  explain: string;
}

export const METRICS: Record<LayerMetricName, MetricInfo> = {
  residNorm: {
    label: "Residual norm",
    scale: "viridis",
    explain: "L2 norm of the residual stream after the layer (blocks.L.hook_resid_post).",
  },
  shift: {
    label: "Activation shift",
    scale: "magma",
    explain: "Cosine distance of the residual after the layer from the residual before it (0 = same direction).",
  },
  residCosine: {
    label: "Cosine to previous layer",
    scale: "viridis",
    fixed: [-1, 1],
    explain:
      "Cosine similarity of the residual after the layer to the residual after the layer before it (1 = same direction; n/a at layer 0).",
  },
  nextTokenProb: {
    label: "Next-token probability (logit lens)",
    scale: "viridis",
    fixed: [0, 1],
    explain: "Probability the logit lens at this layer gives to the token that actually comes next.",
  },
  entropy: {
    label: "Logit-lens entropy (nats)",
    scale: "magma",
    explain: "Entropy of the logit lens's next-token distribution at this layer.",
  },
};

/** The metrics in the order the panel lists them. */
export const METRIC_ORDER = Object.keys(METRICS) as LayerMetricName[];

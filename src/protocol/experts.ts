// Labels of expert interventions, shared by the extension and the webviews.
import type { ExpertIntervention } from "../engine/shapes";

export type { ExpertIntervention };

/** A short label: `off L3:E5`, `force L1:E0@2,5`, `bias L2`, `topk L1=1`. */
export function describeIntervention(iv: ExpertIntervention): string {
  switch (iv.kind) {
    case "off":
      return `off L${iv.layer}:E${iv.expert}`;
    case "force":
      return `force L${iv.layer}:E${iv.expert}${iv.positions ? `@${iv.positions.join(",")}` : ""}`;
    case "bias":
      return `bias L${iv.layer} [${iv.values.map((v) => +(v * (iv.scale ?? 1)).toFixed(3)).join(", ")}]`;
    case "topk":
      return `topk L${iv.layer}=${iv.k}`;
  }
}

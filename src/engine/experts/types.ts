// Expert interventions as data, and their labels: no runtime imports, so the extension and the
// webviews can use them without onnxruntime.

export type ExpertIntervention =
  /** Expert `expert` of `layer` never chosen: its router logit is -inf before top-k. */
  | { kind: "off"; layer: number; expert: number }
  /** Expert forced on at `positions` (absolute token positions; all positions when absent). */
  | { kind: "force"; layer: number; expert: number; positions?: number[] }
  /** `scale * values` added to the layer's router logits (one value per expert) at every token. */
  | { kind: "bias"; layer: number; values: number[]; scale?: number }
  /** Each token routed to `k` experts instead of the architecture's number. */
  | { kind: "topk"; layer: number; k: number };

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

// Expert interventions as data (labels for them: src/protocol/expertLabels.ts).

export type ExpertIntervention =
  /** Expert `expert` of `layer` never chosen: its router logit is -inf before top-k. */
  | { kind: "off"; layer: number; expert: number }
  /** Expert forced on at `positions` (absolute token positions; all positions when absent). */
  | { kind: "force"; layer: number; expert: number; positions?: number[] }
  /** `scale * values` added to the layer's router logits (one value per expert) at every token. */
  | { kind: "bias"; layer: number; values: number[]; scale?: number }
  /** Each token routed to `k` experts instead of the architecture's number. */
  | { kind: "topk"; layer: number; k: number };

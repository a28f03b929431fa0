// Expert interventions as data (labels for the panels: src/protocol/experts.ts).

export type ExpertIntervention =
  /** Expert `expert` of `layer` never chosen: its router logit is -inf before top-k. */
  | { kind: "off"; layer: number; expert: number }
  /** Expert forced on at `positions` (absolute token positions; all positions when absent). */
  | { kind: "force"; layer: number; expert: number; positions?: number[] }
  /** `scale * values` added to the layer's router logits (one value per expert) at every token. */
  | { kind: "bias"; layer: number; values: number[]; scale?: number }
  /** Each token routed to `k` experts instead of the architecture's number. */
  | { kind: "topk"; layer: number; k: number };

// The expert ranking (contrast.ts) as data.

export interface ExpertStat {
  layer: number;
  expert: number;
  /** Share of positive / baseline tokens routed to the expert. */
  positive: number;
  baseline: number;
  diff: number;
  z: number;
  /** Two-sided p-value of the z-test (normal approximation). */
  p: number;
}

export interface ContrastResult {
  /** Every (layer, expert), ranked by `diff` (largest first). */
  ranked: ExpertStat[];
  /** [layers x experts] diff, for a heatmap; rows follow `layers`. */
  layers: number[];
  experts: number;
  heat: Float32Array;
  tokens: { positive: number; baseline: number };
  /** What counted as routed. */
  count?: CountMode;
}

/** What the ranking counts as routed: among the k largest router logits, or the first choice only. */
export type CountMode = "topk" | "top1";

export type ExpertMetric =
  /** Mean log-probability of each prompt's own next tokens (teacher forced). */
  | { kind: "logprob" }
  /** Mean over prompts of the probability, at the last position, of any of these token ids. */
  | { kind: "words"; ids: number[] }
  /** Mean KL(unmodified ‖ modified) of the next-token distributions at every position. */
  | { kind: "kl" };

export interface MetricEffect {
  before: number;
  after: number;
  /** after - before. */
  change: number;
}

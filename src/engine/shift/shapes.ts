// The two-model diff's summary as data (types only): what the protocol carries to the probe panel.

export interface DiffSummary {
  /** Share of positions whose top-1 next token is the same in both models. */
  top1Agreement: number;
  /** Mean and largest KL(P_a || P_b) over positions, in nats. */
  meanKL: number;
  maxKL: number;
  /** Layer whose output widens the gap most (see driftLayer), and the position where it is widest there. */
  driftLayer: number;
  driftPosition: number;
  driftToken: string;
  tokens: number;
  /** "q4 vs fp32: top-1 agreement 97.1%, mean KL 0.012, largest drift at layer 11, token ' the'". */
  text: string;
}

// Feature-dictionary results as data (types only): what the protocol carries to the panels.
import type { HookName } from "../types";

export interface FeatureReading {
  site: HookName;
  outSite?: HookName;
  tokens: number;
  /** Features shown as heatmap rows, strongest (max over tokens) first. */
  features: number[];
  /** [features.length, tokens]: activation of each shown feature at each token. */
  matrix: Float32Array;
  /** Per token: its top features (index, value), largest first. */
  top: Array<Array<{ feature: number; value: number }>>;
  relError: Float32Array;
  l0: Int32Array;
  /** Max activation of each shown feature over these tokens. */
  max: Float32Array;
}

export interface Snippet {
  value: number;
  /** Text before the token, the token, and text after (a few tokens each side). */
  before: string;
  token: string;
  after: string;
}

/** How a dictionary is made here: SNMF of MLP neurons, or a sparse autoencoder on the residual stream. */
export type DictionaryMethod = "snmf" | "topk" | "relu-l1";

/** How well a dictionary reconstructs a set of activation rows. */
export interface DictionaryQuality {
  /** 1 - sum |x - x̂|² / sum |x - mean|², over the rows given. */
  explainedVariance: number;
  /** Mean number of active features per token. */
  l0: number;
  /** Features that never fired on those rows. */
  dead: number;
}

export interface DictionaryBuildResult {
  folder: string;
  site: HookName;
  method: DictionaryMethod;
  dIn: number;
  dSae: number;
  texts: number;
  /** Of those, held out for the quality figures (the last tenth; none under 10 texts). */
  heldOutTexts: number;
  /** Activation rows (tokens) the dictionary was made from, and held out to measure it. */
  rows: number;
  heldOutRows: number;
  /** On the held-out tokens (on the training tokens when too few texts to hold any out). */
  quality: DictionaryQuality;
  qualityOn: "held-out texts" | "training texts";
  seconds: number;
}

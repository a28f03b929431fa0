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

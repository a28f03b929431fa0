// Feature dictionaries across boundaries (host <-> extension <-> probe panel): what a loaded
// dictionary is, its reading of the probed tokens, a feature's card, corpus scans, steering.
import type { FeatureReading } from "../engine/shapes";
import type { Snippet } from "../engine/shapes";
import type { DictionaryBuildResult, DictionaryMethod } from "../engine/shapes";

export type { FeatureReading } from "../engine/shapes";
export type { Snippet } from "../engine/shapes";

export interface DictionaryInfo {
  path: string;
  name: string;
  format: string;
  architecture: string;
  site: string;
  outSite?: string;
  dIn: number;
  dSae: number;
  notes: string[];
}

/** Dictionaries found under the loaded model's folder (`saes/`), for the panel's chooser. */
export interface FeatureListResult {
  dictionaries: Array<{ path: string; name: string }>;
}

export interface FeatureReadParams {
  path: string;
  /** Token ids of the whole probed text; the reading covers tokens [start, end). */
  ids: number[];
  start: number;
  end: number;
  rows?: number;
}

export interface FeatureReadResult {
  dictionary: DictionaryInfo;
  reading: FeatureReading;
  /** Activation of each feature shown, over every probed token [features, ids.length] (for the tint). */
  full: Float32Array;
}

export interface FeatureCardParams {
  path: string;
  feature: number;
  /** The extension's cache folder: a scan of `corpus` done earlier is read from there. */
  cacheDir: string;
  corpus?: string;
}

export interface FeatureCardResult {
  feature: number;
  /** Decoder direction through the model's final norm and unembedding. */
  promotes: Array<{ token: string; logit: number }>;
  suppresses: Array<{ token: string; logit: number }>;
  density?: number;
  densitySource: "corpus" | "sparsity file" | "none";
  meanActive?: number;
  snippets?: Snippet[];
  corpus?: string;
}

export interface FeatureScanParams {
  path: string;
  corpus: string;
  cacheDir: string;
}

export interface FeatureScanResult {
  corpus: string;
  texts: number;
  tokens: number;
  cached: boolean;
}

export interface FeatureVectorParams {
  path: string;
  feature: number;
  /** Used when no corpus scan gives the feature's mean activation. */
  fallbackTypical: number;
  cacheDir: string;
  corpus?: string;
}

export interface FeatureVectorResult {
  /** base64 of the .ivec bytes (SteerLoadRequest takes them as they are). */
  ivec: string;
  typical: number;
  typicalSource: string;
}

export interface FeatureClampParams {
  path: string;
  feature: number;
  value: number;
  text: string;
  maxNewTokens?: number;
}

export interface FeatureClampResult {
  plain: string;
  clamped: string;
}

/** Make a dictionary from a corpus on this machine (introspect/featureBuild). */
export interface FeatureBuildParams {
  method: DictionaryMethod;
  layer: number;
  features: number;
  /** A JSONL file, a .txt file or a folder of text files. */
  corpus: string;
  /** New or empty folder the SAELens files go into. */
  out: string;
  maxTexts?: number;
  iterations?: number;
  /** LSP work-done token: the host reports progress on it (the extension's notification). */
  workDoneToken?: string;
}

/** What the host made: the folder, its site and widths, and the quality on held-out texts. */
export type FeatureBuildResult = DictionaryBuildResult;

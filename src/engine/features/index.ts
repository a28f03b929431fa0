// Feature dictionaries: sparse autoencoders and transcoders read from SAELens / Gemma Scope files,
// trained here (SAE trainer, SNMF), applied to captured activations and used for steering.
export * from "./dictionary";
export { siteForHook, siteWidth, fitToModel } from "./hooks";
export { loadDictionary, loadSaeLens, loadGemmaScope } from "./load";
export { saveSaeLens } from "./save";
export { trainSae, measureQuality, seededRandom, type TrainOptions, type Quality } from "./train";
export { snmf, type SnmfOptions } from "./snmf";
export { collectActivations, readCorpus, type Collected } from "./collect";
export { readFeatures, sitesFor, type FeatureReading, type ReadingOptions } from "./analysis";
export { featureVector, generateClamped, type ClampOptions } from "./steer";
export { scanCorpus, type CorpusScan, type FeatureStats, type Snippet, type ScanOptions } from "./scan";
export {
  buildDictionary,
  checkOutputFolder,
  BUILD_METHODS,
  type DictionaryMethod,
  type DictionaryBuildOptions,
  type DictionaryBuildResult,
} from "./build";

/**
 * Introspect engine: the public API (pure TypeScript; no vscode).
 *
 * Open a model (folder in the Transformers.js / Optimum layout, or one .onnx with tokenizer.json beside it):
 *
 *   const model = await openModel("models/demo-llama", { variant: "fp32", intraOpThreads: 2 });
 *   model.info            // ModelInfo: numLayers, dModel, sites found, exportStyle, notes ...
 *   model.resolved        // { onnxPath, folder, tokenizerPath, config, variant }
 *
 * Forward passes (ids from the tokenizer, `loadTokenizer(model.resolved.folder)`):
 *
 *   const { logits, captures } = await model.run({
 *     ids: [1, 2, 3],                     // one prompt -> logits [seq, vocab], captures [seq, ...]
 *     // ids: [[1, 2, 3], [4, 5]]         // a batch -> [batch, seq, ...] (rows right-padded and masked)
 *     capture: model.expandSites(["resid_post", "blocks.0.attn.hook_pattern"]),
 *     steer: [{ site: "blocks.3.hook_resid_post", vector, scale: 4 }],          // adds scale*vector
 *     patch: [{ site: "blocks.2.hook_resid_pre", positions: [5], values }],     // values: full site shape
 *     prepare: { patch: model.expandSites(["resid_pre"]) },  // build inputs for a sweep: one session
 *     cancel,                                                 // CancelToken, checked between passes
 *   });
 *
 * Shapes (one prompt): resid/attn_out/mlp_out/ln_final [seq, dModel], mlp.hook_post [seq, dMlp],
 * attn.hook_pattern [heads, seq, seq], moe.hook_router_logits [seq, experts] (or as the graph has it).
 *
 * Steering / patching compile into ONE edited graph per set of edited sites (Add of a vector input;
 * Where with a position mask): every slider value and every patch cell reuses the same session.
 * Edited graphs are cached on disk (beside the model when writable, else ~/.cache/introspect).
 *
 * Incremental decoding (models with past_key_values):
 *
 *   let step = await model.decodeStep([[...promptIds]]);              // cache starts empty
 *   step = await model.decodeStep([[nextId]], step.cache, { steer });  // logits [1, 1, vocab]
 *
 * Logit lens: `logitLens(model, captures | ids, { k })` runs each layer's residual through the model's
 * own final norm and unembedding (a small ONNX graph cut from the model's tail, sharing its weights).
 * Top neurons: `topNeurons(tensor, k)`. Faithfulness vs PyTorch references: `faithfulnessTable(root)`.
 *
 * Errors a user can meet are IntrospectError (code + sentence). Call `model.dispose()` when done.
 */
export * from "./types";
export { openModel, type OpenOptions } from "./model/open";
export {
  LoadedModel,
  expandSites,
  checkTokenizerFits,
  type SessionOptions,
  type SteerSpec,
  type PatchSpec as ActivationPatch,
  type RunRequest,
  type RunResult,
  type KvCache,
  type DecodeResult,
} from "./model/loaded";
export { resolveModelPath, listVariants, VARIANTS, type ResolvedModel, type VariantFile } from "./model/resolve";
export { buildArchMap, PATTERNS_TRIED, type ArchMap, type SiteRef, type ResidualStep } from "./arch/archMap";
export { checkMap, refusal, describe as describeCheck, type MapCheck } from "./arch/selfCheck";
export { defaultCacheDir, clearCache } from "./model/editCache";
export { logitLens, unembedResidual, topNeurons, type LensResult } from "./model/lens";
export {
  faithfulnessTable,
  faithfulnessOf,
  findFaithCases,
  formatFaithTable,
  toleranceFor,
  type FaithRow,
  type FaithCase,
  zooCases,
} from "./model/faithfulness";

// Outside src/engine, code imports the engine from this file only (eslint.config.mjs); the
// sub-entries below are what the host, the CLI and the protocol use.
export * from "./promptfile";
export * from "./tokenizer";
export * from "./steer";
export * from "./patch";
export * from "./generate";
export type * from "./analysis/result";
export { ProbeSession, ProbeSessions, buildProbeResult, type ProbeOptions } from "./analysis/probe";
export { ActivationCache, type CachedSite, type LensLayer, type RowRange } from "./analysis/cache";
export { ANALYSES, sitesFor, type Analysis, type AnalysisField, type ProbePlan } from "./analysis/registry";
export { LAYER_METRICS, LAYER_METRIC_DEFS, type LayerMetric } from "./analysis/layerMetrics";
export { describeNonFile, readModelText } from "./model/modelFiles";
export { removeStaleTemps } from "./model/tempFiles";
export { elemType, shapeOf } from "./onnx/modelFile";
export * from "./safetensors";
export * from "./half";
export { diffModels, summaryText, type ModelDiff, type DiffSummary } from "./shift/diff";
export { evaluateDetectors, fitDetectors, layerFeatures, mahalanobis, type LayerDetector, type ShiftEvaluation } from "./shift/detector";
export { FIDELITY_TEXTS, fidelityBadge, fidelityUnavailable, type FidelityBadge } from "./shift/fidelity";
export { pplSparsity, sparsityPerLayer, type PplSparsity, type LayerSparsity } from "./shift/sparsity";
export type { ExpertIntervention } from "./experts/types";

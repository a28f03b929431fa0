// Activation shift: two-model diff and fidelity badge, shift detector, activation sparsity.
export {
  diffModels,
  checkComparable,
  sideLabels,
  sliceDiff,
  summarise,
  summaryText,
  type DiffSide,
  type DiffSummary,
  type ModelDiff,
} from "./diff";
export { FIDELITY_TEXTS, fidelityBadge, fidelityUnavailable, type FidelityBadge } from "./fidelity";
export {
  auroc,
  evaluateDetectors,
  fitDetectors,
  fitReference,
  layerFeatures,
  leaveOneOutThreshold,
  mahalanobis,
  quantile,
  type LayerDetector,
  type Reference,
  type ShiftEvaluation,
} from "./detector";
export {
  idsOf,
  mlpSites,
  perplexity,
  pplSparsity,
  pplSparsityOfRows,
  sparsityOfRows,
  sparsityPerLayer,
  type LayerSparsity,
  type PplSparsity,
  type PplStep,
} from "./sparsity";

// Activation patching: layer x position sweeps between a clean and a corrupted prompt.
export {
  alignPositions,
  checkSpec,
  siteName,
  DEFAULT_PATCH_SITE_KINDS,
  type PatchSweepSpec,
  type PatchSiteKind,
  type Alignment,
} from "./spec";
export { baseline, logitDiff, normaliser, type Baseline } from "./metric";
export {
  patchingSweep,
  defaultAnswers,
  type PatchRunner,
  type BatchPatch,
  type PatchOptions,
  type PatchProgress,
  type PatchCell,
  type PatchResult,
  type SiteGrid,
  type ExtraMetric,
} from "./sweep";
export { modelPatchRunner } from "./model-runner";
export { runPatching, runHeadPatching, patchCell } from "./run";
export { headPatchingSweep, zSite, type HeadPatchSpec, type HeadPatchCell, type HeadPatchOptions, type HeadPatchResult } from "./heads";

// Per-head patching (the engine's layer x head sweep over attn.hook_z) between the patching panel,
// the extension and the host. The grid is small (layers x heads), so it crosses as plain numbers.
import { RequestType } from "vscode-languageserver-protocol";
import type { PatchExperiment } from "./patchData";

export interface HeadPatchParams {
  experiment: PatchExperiment;
  /** Answer token ids of the run shown (its header's correct and wrong). */
  correct: number;
  wrong: number;
}

export interface HeadPatchData {
  layers: number[];
  numHeads: number;
  headDim: number;
  /** Row-major [layers x heads]: (patched - corrupted) / (clean - corrupted) logit difference. */
  normalised: number[];
  logitDiff: number[];
  cellsRun: number;
  cellsSkipped: number;
  forwardPasses: number;
  ms: number;
}

/** Client -> host request: patch each head's attn.hook_z slice (all positions) from clean into corrupted. */
export namespace HeadPatchRequest {
  export const method = "introspect/patchHeads" as const;
  export const type = new RequestType<HeadPatchParams, HeadPatchData, void>(method);
}

// What a patching sweep needs from a model, and one batched run's replacements: the types the
// sweeps (sweep.ts, heads.ts, batches.ts) and the adapter over the engine's model (model-runner.ts) share.
import type { HookName } from "../types";

/**
 * One site's replacement in a batched run: mask [rows x T] (1 = replace) and values [T x d], shared by
 * all rows. With `width`, the site is `width` wide and the mask is per element, [rows x T x width]
 * (one head's slice of attn.hook_z, heads.ts), values [T x width].
 */
export interface BatchPatch {
  mask: Uint8Array;
  values: Float32Array;
  width?: number;
}

/** What the sweep needs from a model; the adapter over the engine's LoadedModel is in model-runner.ts. */
export interface PatchRunner {
  numLayers: number;
  dModel: number;
  vocabSize: number;
  /** Values per position of a site (default dModel; a router's logits have one per expert). */
  width?(site: HookName): number;
  /** One prompt: last-position logits [vocab] and each site's activation [T x d]. */
  capture(ids: number[], sites: HookName[]): Promise<{ logits: Float32Array; acts: Map<HookName, Float32Array> }>;
  /** `rows` copies of `ids` in one batch with the given patches; last-position logits [rows x vocab]. */
  runPatched(ids: number[], rows: number, patches: Map<HookName, BatchPatch>): Promise<Float32Array>;
}

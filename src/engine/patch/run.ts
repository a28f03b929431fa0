// Entry points over a LoadedModel: the whole sweep, and one cell's top tokens (for clicking a
// cell in the heatmap).

import type { LoadedModel } from "../model/loaded";
import { topK } from "../generate/readout";
import { IntrospectError, LayerIndex } from "../types";
import { modelPatchRunner } from "./model-runner";
import { DEFAULT_PATCH_SITE_KINDS, PatchSiteKind, PatchSweepSpec, alignPositions, siteName } from "./spec";
import { PatchOptions, PatchResult, patchingSweep } from "./sweep";
import { headPatchingSweep, zSite, type HeadPatchOptions, type HeadPatchResult, type HeadPatchSpec } from "./heads";

function siteNames(model: LoadedModel, spec: PatchSweepSpec): string[] {
  const layers = spec.layers ?? Array.from({ length: model.info.numLayers }, (_, i) => i);
  const names = (spec.sites ?? DEFAULT_PATCH_SITE_KINDS).flatMap((k) => layers.map((l) => siteName(l, k)));
  const missing = names.filter((n) => !model.info.sites.includes(n));
  if (missing.length) {
    throw new IntrospectError(
      "bad-input",
      `This model's graph does not expose ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ` and ${missing.length - 3} more` : ""}; choose other sites (${model.info.notes.join("; ") || "see the model's site list"}).`,
    );
  }
  return names;
}

/** The full sweep on a model: one edited session with patch inputs at every swept site. */
export function runPatching(model: LoadedModel, spec: PatchSweepSpec, opts: PatchOptions = {}): Promise<PatchResult> {
  return patchingSweep(modelPatchRunner(model, siteNames(model, spec)), spec, opts);
}

/** The top tokens of the corrupted run with one cell patched (and the result's logits). */
export async function patchCell(
  model: LoadedModel,
  spec: Pick<PatchSweepSpec, "cleanIds" | "corruptIds">,
  site: PatchSiteKind,
  layer: LayerIndex,
  position: number,
  k = 10,
): Promise<{ logits: Float32Array; top: { id: number; p: number; logit: number }[] }> {
  const name = siteName(layer, site);
  const al = alignPositions(spec.cleanIds.length, spec.corruptIds.length, [position]);
  const runner = modelPatchRunner(model, [name]);
  const clean = await runner.capture(spec.cleanIds, [name]);
  const d = runner.width?.(name) ?? model.info.dModel;
  const T = spec.corruptIds.length;
  const values = new Float32Array(T * d);
  const src = clean.acts.get(name)!;
  values.set(src.subarray(al.cleanPositions[0] * d, (al.cleanPositions[0] + 1) * d), al.corruptPositions[0] * d);
  const mask = new Uint8Array(T);
  mask[al.corruptPositions[0]] = 1;
  const logits = await runner.runPatched(spec.corruptIds, 1, new Map([[name, { mask, values }]]));
  return { logits, top: topK(logits, k) };
}

/** The layer x head sweep on a model (per-head patching of attn.hook_z); refuses where the map found no z site. */
export function runHeadPatching(model: LoadedModel, spec: HeadPatchSpec, opts: HeadPatchOptions = {}): Promise<HeadPatchResult> {
  const layers = spec.layers ?? Array.from({ length: model.info.numLayers }, (_, i) => i);
  const names = layers.map(zSite);
  const missing = names.filter((n) => !model.info.sites.includes(n));
  if (missing.length)
    throw new IntrospectError(
      "bad-input",
      `This model's graph does not expose the per-head outputs (${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ""}), so single heads cannot be patched; patch whole sites instead.`,
    );
  return headPatchingSweep(modelPatchRunner(model, names), { ...spec, layers }, model.info.numHeads ?? 0, opts);
}

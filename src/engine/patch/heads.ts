// Per-head activation patching: a layer x head grid. Each cell replaces one head's slice of
// `blocks.L.attn.hook_z` (the heads' outputs before the output projection, [T, heads * d_head])
// in the corrupted run with the clean run's, at every aligned position, and reads the logit
// difference at the last position (TransformerLens's "attention head output, all positions").
// Heads whose clean and corrupted slices are identical cannot change anything and are not run.

import { CancelToken, HookName, IntrospectError, LayerIndex, throwIfCancelled } from "../types";
import { runBatches } from "./batches";
import { Baseline, baseline, logitDiff, normaliser } from "./metric";
import { alignPositions, checkSpec } from "./spec";
import type { PatchRunner } from "./sweep";

export interface HeadPatchSpec {
  cleanIds: number[];
  corruptIds: number[];
  correct: number;
  wrong: number;
  /** Layers to sweep; default all. */
  layers?: LayerIndex[];
}

export interface HeadPatchCell {
  layer: LayerIndex;
  head: number;
  normalised: number;
  logitDiff: number;
  skipped: boolean;
}

export interface HeadPatchOptions {
  /** Heads per forward pass (default 8). */
  batchSize?: number;
  cancel?: CancelToken;
  onProgress?: (p: { done: number; total: number; cells: HeadPatchCell[] }) => void;
}

export interface HeadPatchResult {
  layers: LayerIndex[];
  numHeads: number;
  headDim: number;
  /** Corrupted positions patched, and their clean partners (aligned from the end). */
  positions: number[];
  cleanPositions: number[];
  note?: string;
  baselines: { clean: Baseline; corrupt: Baseline };
  /** Row-major [layers x heads]. */
  normalised: Float32Array;
  logitDiff: Float32Array;
  forwardPasses: number;
  cellsRun: number;
  cellsSkipped: number;
}

export const zSite = (layer: LayerIndex): HookName => `blocks.${layer}.attn.hook_z`;

export async function headPatchingSweep(
  runner: PatchRunner,
  spec: HeadPatchSpec,
  numHeads: number,
  opts: HeadPatchOptions = {},
): Promise<HeadPatchResult> {
  checkSpec(spec, runner.numLayers, runner.vocabSize);
  if (!Number.isInteger(numHeads) || numHeads < 1)
    throw new IntrospectError(
      "bad-input",
      "Per-head patching needs the model's number of attention heads, which its config does not give.",
    );
  const layers = spec.layers ?? Array.from({ length: runner.numLayers }, (_, i) => i);
  const al = alignPositions(spec.cleanIds.length, spec.corruptIds.length);
  const names = layers.map(zSite);
  const T = spec.corruptIds.length;
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 8));

  throwIfCancelled(opts.cancel);
  const clean = await runner.capture(spec.cleanIds, names);
  throwIfCancelled(opts.cancel);
  const corrupt = await runner.capture(spec.corruptIds, names);
  const bClean = baseline(clean.logits, spec.correct, spec.wrong);
  const bCorrupt = baseline(corrupt.logits, spec.correct, spec.wrong);
  const norm = normaliser(bClean, bCorrupt);

  const width = clean.acts.get(names[0])!.length / spec.cleanIds.length;
  if (!Number.isInteger(width) || width % numHeads !== 0)
    throw new IntrospectError(
      "bad-input",
      `attn.hook_z is ${width} wide, which does not split into ${numHeads} heads: this model's per-head outputs cannot be patched.`,
    );
  const dh = width / numHeads;
  const values = new Map<HookName, Float32Array>();
  for (const n of names) {
    const c = clean.acts.get(n);
    const k = corrupt.acts.get(n);
    if (!c || c.length !== spec.cleanIds.length * width || !k || k.length !== T * width)
      throw new IntrospectError("internal", `The model did not return ${n} with ${width} values per position.`);
    // Corrupted coordinates: the corrupted run's own values where nothing is paired.
    const v = k.slice();
    al.corruptPositions.forEach((p, j) => v.set(c.subarray(al.cleanPositions[j] * width, (al.cleanPositions[j] + 1) * width), p * width));
    values.set(n, v);
  }

  const H = numHeads;
  const normalised = new Float32Array(layers.length * H).fill(NaN);
  const lds = new Float32Array(layers.length * H).fill(NaN);
  const put = (li: number, h: number, ld: number, skipped: boolean): HeadPatchCell => {
    normalised[li * H + h] = norm(ld);
    lds[li * H + h] = ld;
    return { layer: layers[li], head: h, normalised: norm(ld), logitDiff: ld, skipped };
  };
  /** Positions where head h's slice differs between the replacement and the corrupted run. */
  const differing = (n: HookName, h: number): number[] => {
    const v = values.get(n)!;
    const k = corrupt.acts.get(n)!;
    const out: number[] = [];
    for (const p of al.corruptPositions) {
      for (let j = p * width + h * dh; j < p * width + (h + 1) * dh; j++)
        if (v[j] !== k[j]) {
          out.push(p);
          break;
        }
    }
    return out;
  };
  const toRun: { li: number; h: number; at: number[] }[] = [];
  const skipped: HeadPatchCell[] = [];
  layers.forEach((l, li) => {
    for (let h = 0; h < H; h++) {
      const at = differing(zSite(l), h);
      if (at.length === 0) skipped.push(put(li, h, bCorrupt.logitDiff, true));
      else toRun.push({ li, h, at });
    }
  });
  // Earliest patched position first, so a runner that reuses the unchanged prefix groups rows well.
  toRun.sort((a, b) => a.at[0] - b.at[0]);
  const passes =
    2 +
    (await runBatches(toRun, {
      runner,
      ids: spec.corruptIds,
      batchSize,
      values,
      width,
      skipped,
      cancel: opts.cancel,
      onProgress: opts.onProgress,
      mark: (cell, r, patch) => {
        const bp = patch(zSite(layers[cell.li]));
        for (const p of cell.at) bp.mask.fill(1, (r * T + p) * width + cell.h * dh, (r * T + p) * width + (cell.h + 1) * dh);
      },
      read: (cell, row) => put(cell.li, cell.h, logitDiff(row, spec.correct, spec.wrong), false),
    }));
  return {
    layers,
    numHeads: H,
    headDim: dh,
    positions: al.corruptPositions,
    cleanPositions: al.cleanPositions,
    note: al.note,
    baselines: { clean: bClean, corrupt: bCorrupt },
    normalised,
    logitDiff: lds,
    forwardPasses: passes,
    cellsRun: toRun.length,
    cellsSkipped: skipped.length,
  };
}

// The layer x position patching sweep. Clean (and corrupted) activations are captured once;
// then every cell -- (site, layer, position) -- is one row of a batched forward pass over the
// corrupted prompt, the row's mask selecting the one activation it replaces with the clean one.
// Cells whose clean and corrupted activations are identical (for instance every position before
// the first differing token, by causality) cannot change anything and are not run.

import { CancelToken, HookName, IntrospectError, LayerIndex, throwIfCancelled } from "../types";
import { runBatches } from "./batches";
import { Baseline, baseline, logitDiff, normaliser } from "./metric";
import { DEFAULT_PATCH_SITE_KINDS, PatchSiteKind, PatchSweepSpec, alignPositions, checkSpec, siteName } from "./spec";
import { logSoftmax } from "../generate/readout";

/** Positions per block of the sweep's cell order: a runner that starts rows at a later layer feeds
 * each row from the start of its position's block (model-runner.ts), so cells of one block and
 * nearby layers share a run. */
export const POSITION_BLOCK = 4;

import type { PatchRunner } from "./runner";
export type { BatchPatch, PatchRunner } from "./runner";

export type ExtraMetric = "logit-diff" | "p-correct";

export interface PatchOptions {
  /** Cells per forward pass (default 8: fastest of 1/8/32/64 on demo-llama with 2 cores). */
  batchSize?: number;
  /** Raw logit difference and/or p(correct) grids besides the normalised one. */
  extra?: ExtraMetric[];
  cancel?: CancelToken;
  /** Called after each batch with the cells it finished (the panel fills in). */
  onProgress?: (p: PatchProgress) => void;
}

export interface PatchCell {
  site: PatchSiteKind;
  layer: LayerIndex;
  /** Corrupted-prompt position. */
  position: number;
  normalised: number;
  logitDiff: number;
  pCorrect: number;
  /** True when the cell was not run because the patch could not change anything. */
  skipped: boolean;
}

export interface PatchProgress {
  done: number;
  total: number;
  cells: PatchCell[];
}

export interface SiteGrid {
  /** Row-major [layers x positions]; NaN where not (yet) computed. */
  normalised: Float32Array;
  logitDiff?: Float32Array;
  pCorrect?: Float32Array;
}

export interface PatchResult {
  layers: LayerIndex[];
  /** Corrupted-prompt positions (grid columns) and the clean positions paired with them. */
  positions: number[];
  cleanPositions: number[];
  note?: string;
  baselines: { clean: Baseline; corrupt: Baseline };
  grids: Partial<Record<PatchSiteKind, SiteGrid>>;
  forwardPasses: number;
  cellsRun: number;
  cellsSkipped: number;
}

interface Cell {
  site: PatchSiteKind;
  li: number;
  pi: number;
}

export async function patchingSweep(runner: PatchRunner, spec: PatchSweepSpec, opts: PatchOptions = {}): Promise<PatchResult> {
  checkSpec(spec, runner.numLayers, runner.vocabSize);
  const sites = spec.sites ?? DEFAULT_PATCH_SITE_KINDS;
  if (sites.length === 0) throw new IntrospectError("bad-input", "Choose at least one site to patch.");
  const layers = spec.layers ?? Array.from({ length: runner.numLayers }, (_, i) => i);
  const al = alignPositions(spec.cleanIds.length, spec.corruptIds.length, spec.positions);
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 8));
  const width = (n: HookName) => runner.width?.(n) ?? runner.dModel;
  const T = spec.corruptIds.length;
  const names = sites.flatMap((s) => layers.map((l) => siteName(l, s)));

  throwIfCancelled(opts.cancel);
  const clean = await runner.capture(spec.cleanIds, names);
  throwIfCancelled(opts.cancel);
  const corrupt = await runner.capture(spec.corruptIds, names);
  let passes = 2;
  const bClean = baseline(clean.logits, spec.correct, spec.wrong);
  const bCorrupt = baseline(corrupt.logits, spec.correct, spec.wrong);
  const norm = normaliser(bClean, bCorrupt);

  // Replacement values in corrupted coordinates: row p holds the clean activation paired with p.
  const values = new Map<HookName, Float32Array>();
  for (const n of names) {
    const d = width(n);
    const c = clean.acts.get(n);
    if (!c || c.length !== spec.cleanIds.length * d) {
      throw new IntrospectError("internal", `The model did not return the activation ${n} with ${spec.cleanIds.length} x ${d} values.`);
    }
    const v = new Float32Array(T * d);
    al.corruptPositions.forEach((p, k) => v.set(c.subarray(al.cleanPositions[k] * d, (al.cleanPositions[k] + 1) * d), p * d));
    values.set(n, v);
  }

  const P = al.corruptPositions.length;
  const grids: Partial<Record<PatchSiteKind, SiteGrid>> = {};
  const extra = new Set(opts.extra ?? []);
  for (const s of sites) {
    grids[s] = {
      normalised: new Float32Array(layers.length * P).fill(NaN),
      logitDiff: extra.has("logit-diff") ? new Float32Array(layers.length * P).fill(NaN) : undefined,
      pCorrect: extra.has("p-correct") ? new Float32Array(layers.length * P).fill(NaN) : undefined,
    };
  }
  const put = (cell: Cell, ld: number, pc: number, skipped: boolean): PatchCell => {
    const g = grids[cell.site]!;
    const k = cell.li * P + cell.pi;
    const out: PatchCell = {
      site: cell.site,
      layer: layers[cell.li],
      position: al.corruptPositions[cell.pi],
      normalised: norm(ld),
      logitDiff: ld,
      pCorrect: pc,
      skipped,
    };
    g.normalised[k] = out.normalised;
    if (g.logitDiff) g.logitDiff[k] = ld;
    if (g.pCorrect) g.pCorrect[k] = pc;
    return out;
  };

  const toRun: Cell[] = [];
  const skippedCells: PatchCell[] = [];
  for (const site of sites) {
    for (let li = 0; li < layers.length; li++) {
      const n = siteName(layers[li], site);
      const cv = values.get(n)!;
      const kv = corrupt.acts.get(n)!;
      for (let pi = 0; pi < P; pi++) {
        const p = al.corruptPositions[pi];
        if (sameRow(cv, kv, p, width(n))) skippedCells.push(put({ site, li, pi }, bCorrupt.logitDiff, bCorrupt.pCorrect, true));
        else toRun.push({ site, li, pi });
      }
    }
  }
  // Blocks of POSITION_BLOCK positions, then layer, then position: a batch's cells then share their
  // position block and a few neighbouring layers, so a runner that reuses the prompt's unchanged
  // prefix and starts at the patched layer (model-runner.ts) recomputes only what comes after both.
  const block = (c: Cell) => Math.floor(al.corruptPositions[c.pi] / POSITION_BLOCK);
  toRun.sort((a, b) => block(a) - block(b) || a.li - b.li || a.pi - b.pi);
  passes += await runBatches(toRun, {
    runner,
    ids: spec.corruptIds,
    batchSize,
    values,
    skipped: skippedCells,
    cancel: opts.cancel,
    onProgress: opts.onProgress,
    mark: (cell, r, patch) => {
      patch(siteName(layers[cell.li], cell.site)).mask[r * T + al.corruptPositions[cell.pi]] = 1;
    },
    read: (cell, row) => {
      const pc = extra.has("p-correct") ? Math.exp(logSoftmax(row)[spec.correct]) : NaN;
      return put(cell, logitDiff(row, spec.correct, spec.wrong), pc, false);
    },
  });
  return {
    layers,
    positions: al.corruptPositions,
    cleanPositions: al.cleanPositions,
    note: al.note,
    baselines: { clean: bClean, corrupt: bCorrupt },
    grids,
    forwardPasses: passes,
    cellsRun: toRun.length,
    cellsSkipped: skippedCells.length,
  };
}

function sameRow(a: Float32Array, b: Float32Array, p: number, d: number): boolean {
  for (let i = p * d; i < (p + 1) * d; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Default answers: the clean run's top-1 token and the corrupted run's top-1 token. */
export function defaultAnswers(cleanLogits: Float32Array, corruptLogits: Float32Array): { correct: number; wrong: number } {
  const top = (r: Float32Array) => r.reduce((b, x, i) => (x > r[b] ? i : b), 0);
  return { correct: top(cleanLogits), wrong: top(corruptLogits) };
}

// The batch loop of the patching sweeps (sweep.ts, heads.ts): the cells to run go, in the order
// given, into batches of rows of the corrupted prompt, one forward pass a batch; each row's mask
// selects what that cell replaces, and each row's last-position logits become the cell's result.
// Progress is reported for the skipped cells first, then after every batch.

import { CancelToken, HookName, IntrospectError, throwIfCancelled } from "../types";
import type { BatchPatch, PatchRunner } from "./runner";

export interface BatchLoop<C, R> {
  runner: PatchRunner;
  /** The corrupted prompt every row runs. */
  ids: number[];
  batchSize: number;
  /** Replacement values of each site, [T x d] in corrupted coordinates. */
  values: Map<HookName, Float32Array>;
  /** With a width, masks are per element ([rows x T x width], BatchPatch); else per position. */
  width?: number;
  /** Cells known without a run (reported first, counted in the total). */
  skipped: R[];
  cancel?: CancelToken;
  onProgress?: (p: { done: number; total: number; cells: R[] }) => void;
  /** Marks cell's replacement in row r of `patch(site)`, the batch's patch of a site (made on first use). */
  mark(cell: C, r: number, patch: (site: HookName) => BatchPatch): void;
  /** The result of a cell from its row's last-position logits [vocab]. */
  read(cell: C, logits: Float32Array): R;
}

/** Runs `toRun` in batches; returns the number of forward passes. */
export async function runBatches<C, R>(toRun: C[], o: BatchLoop<C, R>): Promise<number> {
  const { runner, ids, batchSize, values, width } = o;
  const T = ids.length;
  const total = toRun.length + o.skipped.length;
  let done = o.skipped.length;
  if (o.skipped.length) o.onProgress?.({ done, total, cells: o.skipped });
  let passes = 0;
  for (let start = 0; start < toRun.length; start += batchSize) {
    throwIfCancelled(o.cancel);
    const batch = toRun.slice(start, start + batchSize);
    const rows = batch.length;
    const patches = new Map<HookName, BatchPatch>();
    const patch = (n: HookName): BatchPatch => {
      let bp = patches.get(n);
      if (!bp) {
        bp = width
          ? { mask: new Uint8Array(rows * T * width), values: values.get(n)!, width }
          : { mask: new Uint8Array(rows * T), values: values.get(n)! };
        patches.set(n, bp);
      }
      return bp;
    };
    batch.forEach((cell, r) => o.mark(cell, r, patch));
    const logits = await runner.runPatched(ids, rows, patches);
    passes++;
    const V = runner.vocabSize;
    if (logits.length !== rows * V)
      throw new IntrospectError("internal", `A patched run returned ${logits.length} logits, expected ${rows} x ${V}.`);
    const cells = batch.map((cell, r) => o.read(cell, logits.subarray(r * V, (r + 1) * V)));
    done += rows;
    o.onProgress?.({ done, total, cells });
  }
  return passes;
}

// A figure: one module that measures one row group of the table.

import { Ctx, ReferenceTask } from "../lib/context";
import { ReferenceResult } from "../lib/reference";
import { EngineModel, missing } from "../lib/engine";
import { Cell, Row } from "../lib/table";
import { Stat, statOf } from "../lib/stats";

export interface Figure {
  /** Name for --only. */
  id: string;
  /** What the PyTorch reference must run for this figure. */
  referenceTasks: ReferenceTask[];
  run(ctx: Ctx): Promise<Row[]>;
}

export const sec = (label: string, stat: Stat): Cell => ({ label, stat, unit: "s" });
export const tps = (label: string, stat: Stat): Cell => ({ label, stat, unit: "tok/s" });
export const bytes = (label: string, n: number): Cell => ({ label, stat: statOf([n]), unit: "bytes" });

/** The engine model if it has `op`, else the sentence the table prints. */
export async function engineWith<K extends keyof EngineModel>(
  ctx: Ctx,
  op: K,
): Promise<{ m: EngineModel & Required<Pick<EngineModel, K>> } | { why: string }> {
  const m = await ctx.engineModel();
  if ("reason" in m) return { why: m.reason };
  if (typeof m[op] !== "function") return { why: missing(op) };
  return { m: m as EngineModel & Required<Pick<EngineModel, K>> };
}

/** The reference result, or the sentence why there is none. */
export async function referenceOr(ctx: Ctx): Promise<{ r: ReferenceResult } | { why: string }> {
  try {
    return { r: await ctx.reference() };
  } catch (e) {
    return { why: `PyTorch reference: ${(e as Error).message}` };
  }
}

// npm run bench -- --1b [--quick] [--only open,plain,capture,sweep,generation,slider,probe,panel,transfer] [--no-long]
// The 1B table: Llama-3.2-1B's shape (bench/models/make_llama_1b.py), fp32 and q4, every figure a
// ratio of two measurements of this run. Memory rules: at most one fp32 session is open at a time
// (each holds the 6 GB of weights); the q4 phase keeps the plain and the engine session (2 GB each);
// opening and the long probes run in child processes that report their own peak (VmHWM).

import * as fs from "fs";
import * as path from "path";
import { BenchModel, ensureLlama1b } from "../lib/models";
import { PlainModel } from "../lib/ort";
import { randomIds } from "../lib/prompts";
import { Row } from "../lib/table";
import { fp32Phase, openPhase, panelPhase, probePhase, q4Phase, type Phase } from "./phases";
import { transferRows } from "./transfer";

export const FIGURES_1B = ["open", "plain", "capture", "sweep", "generation", "slider", "probe", "panel", "transfer"];

export interface Opts1b {
  quick: boolean;
  only: string[];
  /** 4,096-token figures (q4 plain forward, probe). */
  long: boolean;
}

export class Ctx1b {
  readonly prompts: Record<"p64" | "p128" | "p1024" | "p4096" | "gen", number[]>;
  readonly checks: Record<string, number | string> = {};
  constructor(
    readonly model: BenchModel,
    readonly opts: Opts1b,
    readonly log: (s: string) => void,
  ) {
    const v = model.vocab;
    const avoid = model.eosId === undefined ? [] : [model.eosId];
    this.prompts = {
      p64: randomIds(64, v, 64, avoid),
      p128: randomIds(128, v, 128, avoid),
      p1024: randomIds(1024, v, 1024, avoid),
      p4096: randomIds(4096, v, 4096, avoid),
      gen: randomIds(16, v, 7, avoid),
    };
  }
  wants(f: string): boolean {
    return this.opts.only.length === 0 || this.opts.only.includes(f);
  }
  repeats(long: boolean): number {
    return this.opts.quick ? 1 : long ? 2 : 3;
  }
  async plain(file: string): Promise<PlainModel> {
    return PlainModel.open(file, this.model.kv);
  }
  fileBytes(onnx: string): number {
    const dir = path.dirname(onnx);
    const base = path.basename(onnx);
    return fs
      .readdirSync(dir)
      .filter((f) => f === base || f.startsWith(`${base}_data`))
      .reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
  }
}

export async function run1b(
  opts: Opts1b,
  log: (s: string) => void,
  tiny = false,
): Promise<{ model: BenchModel; rows: Row[]; checks: Ctx1b["checks"] }> {
  for (const f of opts.only) if (!FIGURES_1B.includes(f)) throw new Error(`unknown 1B figure ${f}; figures: ${FIGURES_1B.join(", ")}`);
  const model = ensureLlama1b(tiny, log);
  const ctx = new Ctx1b(model, opts, log);
  const rows: Row[] = [];
  const transferPhase: Phase = { id: "transfer", figures: ["transfer"], run: (c) => transferRows(c) };
  const phases: Phase[] = [q4Phase, fp32Phase, openPhase, probePhase, panelPhase, transferPhase];
  for (const p of phases) {
    if (!p.figures.some((f) => ctx.wants(f))) continue;
    log(`1B phase ${p.id}...`);
    rows.push(...(await p.run(ctx)));
  }
  return { model, rows, checks: ctx.checks };
}

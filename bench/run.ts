// npm run bench [-- --quick] [--only plain,capture,sweep,generation,slider,memory] [--model gpt2-small|demo-llama|llama-1b-tiny] [--1b] [--cuts 6,12]
//                [--passive] [--no-reference] [--tiny] [--no-malloc-tuning]
// Measures Introspect against onnxruntime's plain forward (the physical limit) and against a
// PyTorch forward-hooks reference on the same weights, in one run; prints a table and writes
// bench/results/<model>-<time>.json, latest.json and latest.md.
// It runs under the glibc malloc settings the model host is started with (mallocTuning.ts): the
// process starts itself again with them unless --no-malloc-tuning. Child processes (the PyTorch
// reference, the memory figure's children) inherit them, so both sides run alike.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { capture } from "./figures/capture";
import { Figure } from "./figures/figure";
import { generation } from "./figures/generation";
import { memory } from "./figures/memory";
import { plain } from "./figures/plain";
import { slider } from "./figures/slider";
import { sweep } from "./figures/sweep";
import { Ctx, Options } from "./lib/context";
import { run1b } from "./scale/run1b";
import { machine } from "./lib/machine";
import { BenchModel, demoLlama, ensureGpt2, ensureLlama1b, ROOT } from "./lib/models";
import { benchProvider, usePassiveWaiting } from "./lib/ort";
import { consoleTable, markdownTable, Row } from "./lib/table";
import { mallocTuned, withMallocTuning } from "../src/launch/mallocTuning";
import { withoutOrtTelemetry } from "../src/launch/ortTelemetry";

export const FIGURES: Figure[] = [plain, capture, sweep, generation, slider, memory];

interface Args extends Options {
  model: string;
  tiny: boolean;
  passive: boolean;
  /** The 1B table (bench/scale/run1b.ts) instead of the GPT-2-small one. */
  oneB: boolean;
  /** 1B: the 4,096-token figures (on by default). */
  long: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, only: [], noReference: false, model: "gpt2-small", tiny: false, passive: false, oneB: false, long: true };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === "--quick") a.quick = true;
    else if (k === "--tiny") a.tiny = true;
    else if (k === "--1b") a.oneB = true;
    else if (k === "--no-long") a.long = false;
    else if (k === "--no-reference") a.noReference = true;
    else if (k === "--passive") a.passive = true;
    else if (k === "--no-malloc-tuning")
      continue; // read before parsing (see the end of this file)
    else if (k === "--only") a.only = (argv[++i] ?? "").split(",").filter(Boolean);
    else if (k === "--model") a.model = argv[++i] ?? "";
    else if (k === "--cuts") a.cuts = (argv[++i] ?? "").split(",").filter(Boolean).map(Number);
    else
      throw new Error(
        `unknown option ${k}; options: --quick --only <figures> --model <gpt2-small|demo-llama|llama-1b-tiny> --1b --no-long --passive --no-reference --tiny --no-malloc-tuning --cuts <n,n>`,
      );
  }
  if (a.cuts?.some((n) => !(Number.isInteger(n) && n >= 1))) throw new Error("--cuts takes layer-cut counts (whole numbers >= 1)");
  if (a.oneB) return a; // run1b checks its own figure names
  const known = FIGURES.map((f) => f.id);
  for (const f of a.only) if (!known.includes(f)) throw new Error(`unknown figure ${f}; figures: ${known.join(", ")}`);
  return a;
}

function pickModel(a: Args, log: (s: string) => void): BenchModel {
  if (a.model === "gpt2-small") return ensureGpt2(a.tiny, log);
  if (a.model === "llama-1b" || a.model === "llama-1b-tiny") return ensureLlama1b(a.model === "llama-1b-tiny", log);
  if (a.model === "demo-llama") {
    const m = demoLlama();
    if (!m) throw new Error("models/demo-llama/onnx/model.onnx not found: make the demo model first (tools/models)");
    return m;
  }
  throw new Error(`unknown model ${a.model}; models: gpt2-small, demo-llama, llama-1b, llama-1b-tiny`);
}

export async function main(argv: string[]): Promise<{ rows: Row[]; file: string }> {
  const args = parseArgs(argv);
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  if (args.passive) usePassiveWaiting();
  log(`glibc malloc settings of the model host (src/launch/mallocTuning.ts): ${mallocTuned() ? "on" : "off"}`);
  if (args.oneB) {
    const started = new Date();
    const loadBefore = machine().loadAverage[0];
    log(`execution provider: ${benchProvider()}`);
    const r = await run1b({ quick: args.quick, only: args.only, long: args.long }, log, args.tiny);
    return write(r.model, args, started, loadBefore, r.rows, r.checks, undefined);
  }
  const model = pickModel(args, log);
  const ctx = new Ctx(model, args, log);
  const figures = FIGURES.filter((f) => args.only.length === 0 || args.only.includes(f.id));
  for (const f of figures) f.referenceTasks.forEach((t) => ctx.referenceTasks.add(t));
  const started = new Date();
  const loadBefore = machine().loadAverage[0];
  if (loadBefore > machine().cpus) {
    log(
      `warning: load average ${loadBefore} on ${machine().cpus} CPUs: other work distorts the timings${args.passive ? "" : "; --passive stops both sides' threads spinning, which suffers most"}`,
    );
  }
  const rows: Row[] = [];
  try {
    for (const f of figures) {
      log(`figure ${f.id}...`);
      rows.push(...(await f.run(ctx)));
    }
  } finally {
    await ctx.close();
  }
  const ref = ctx.referenceTasks.size && !args.noReference ? await ctx.reference().catch(() => undefined) : undefined;
  return write(model, args, started, loadBefore, rows, ctx.checks, ref?.env, ctx.sizes);
}

function write(
  model: BenchModel,
  args: Args,
  started: Date,
  loadBefore: number,
  rows: Row[],
  checks: Record<string, number | string>,
  referenceEnv: unknown,
  sizes?: unknown,
): { rows: Row[]; file: string } {
  const result = {
    started: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    model: { name: model.name, onnx: path.relative(ROOT, model.onnx), layers: model.layers, dModel: model.dModel, vocab: model.vocab },
    options: { quick: args.quick, only: args.only, passive: args.passive, mallocTuning: mallocTuned(), oneB: args.oneB, long: args.long },
    executionProvider: benchProvider(),
    machine: { ...machine(), loadAverageAtStart: loadBefore },
    sizes,
    checks,
    referenceEnv,
    rows,
  };
  const dir = path.join(ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${model.name}-${started.toISOString().replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 1));
  fs.writeFileSync(path.join(dir, "latest.json"), JSON.stringify(result, null, 1));
  const md = [
    `${model.name}, ${args.quick ? "quick run" : "full run"}${args.passive ? ", passive waiting" : ""}${mallocTuned() ? ", malloc settings on" : ""}, ${started.toISOString()}, ${result.machine.cpus} CPUs (${result.machine.cpuModel}), load average ${loadBefore} at start, ${result.machine.loadAverage[0]} at end`,
    "",
    markdownTable(rows),
    "",
    `execution provider: ${benchProvider()}`,
    "",
    ...Object.entries(checks).map(([k, v]) => `- ${k}: ${typeof v === "number" ? v.toPrecision(3) : v}`),
  ].join("\n");
  fs.writeFileSync(path.join(dir, "latest.md"), md + "\n");
  process.stdout.write(`\n${consoleTable(rows)}\n\n`);
  for (const [k, v] of Object.entries(checks)) process.stdout.write(`${k}: ${typeof v === "number" ? v.toPrecision(3) : v}\n`);
  process.stdout.write(`\nwritten ${path.relative(ROOT, file)} (and latest.json, latest.md) in ${result.seconds.toFixed(0)} s\n`);
  return { rows, file };
}

if (require.main === module && !mallocTuned() && !process.argv.includes("--no-malloc-tuning")) {
  // glibc reads its settings at process start only: run again with them.
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: withoutOrtTelemetry(withMallocTuning()),
    stdio: "inherit",
  });
  process.exit(r.status ?? 1);
} else if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  });
}

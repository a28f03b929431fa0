// The 1B figures, in phases that bound memory (see run1b.ts). Every row divides two measurements of
// this run; the alternating ones time both sides in rounds so the shared machine's load falls alike.

import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { gaussian } from "../lib/context";
import { EngineModel, loadEngine, SweepSpec } from "../lib/engine";
import { measureOpen } from "../lib/memory";
import { ROOT } from "../lib/models";
import { top2Last } from "../lib/ort";
import { corrupt } from "../lib/prompts";
import { mapStat, scaleStat, Stat, statOf, time } from "../lib/stats";
import { notMeasured, ratioRow, Row } from "../lib/table";
import { bytes, sec, tps } from "../figures/figure";
import { interleaved } from "../figures/capture";
import type { Ctx1b } from "./run1b";
import { LENS_TOKENS } from "./lensTokens";

export interface Phase {
  id: string;
  figures: string[];
  run(ctx: Ctx1b): Promise<Row[]>;
}

const report = { kind: "report" } as const;
const ms = (s: Stat) => `${(s.median * 1000).toFixed(0)} ms`;

async function engine(ctx: Ctx1b, variant: string | undefined, maxSessions: number): Promise<EngineModel> {
  const e = await loadEngine();
  if (!e.api) throw new Error(e.reason);
  return e.api.open(ctx.model.dir, { variant, maxSessions });
}

/** q4: the plain and the engine session side by side (2 GB each). */
export const q4Phase: Phase = {
  id: "q4",
  figures: ["plain", "capture", "sweep", "generation", "slider"],
  async run(ctx) {
    const rows: Row[] = [];
    const plain = await ctx.plain(ctx.model.q4Onnx!);
    const e = await engine(ctx, "q4", 2);
    try {
      for (const n of [128, 1024] as const) {
        const ids = n === 128 ? ctx.prompts.p128 : ctx.prompts.p1024;
        const reps = ctx.repeats(n > 128);
        if (ctx.wants("plain") || ctx.wants("capture")) {
          const [own, ort, cap] = await interleaved(
            [() => e.plain(ids), () => plain.forward(ids), ...(ctx.wants("capture") ? [() => e.captureAll!(ids)] : [])],
            reps,
            // --quick: the 1,024-token round cold (the sessions are warm from 128); minutes per forward on a loaded machine.
            !(ctx.opts.quick && n > 128),
          );
          ctx.log(`q4 ${n} tokens: engine plain ${ms(own)}, ORT plain ${ms(ort)}${cap ? `, capture ${ms(cap)}` : ""}`);
          rows.push(
            ratioRow(
              `plain forward ${n} tok, q4: Introspect / ORT on the unmodified graph`,
              sec("Introspect", own),
              sec("ORT", ort),
              report,
            ),
          );
          if (cap) {
            const goal = n === 1024 ? ({ kind: "max", value: 1.1 } as const) : report;
            rows.push(
              ratioRow(`capture all resid_* + mlp_post / plain forward, q4, ${n} tok`, sec("Introspect", cap), sec("ORT plain", ort), goal),
            );
          }
        }
      }
      const steer = { layer: Math.floor(ctx.model.layers / 2), vector: gaussian(ctx.model.dModel, 0, 4) };
      if (ctx.wants("sweep")) rows.push(...(await sweepRows(ctx, e, plain)));
      if (ctx.wants("generation")) {
        const n = ctx.opts.quick ? 8 : 16;
        const p = ctx.prompts.gen;
        // Unsteered first: its warm-up remembers the prompt, so the steered warm-up opens the layer cut
        // its prompt pass starts from (steeredPrefix.ts) and no timed round includes a session's creation.
        const [un, st] = await interleaved([() => e.generate!(p, n), () => e.generate!(p, n, steer)], ctx.repeats(true));
        const toTps = (s: Stat) => mapStat(s, (t) => n / t);
        rows.push(
          ratioRow(
            `steered / unsteered generation tok/s, q4 (KV cache, ${p.length}+${n} tok)`,
            tps("steered", toTps(st)),
            tps("unsteered", toTps(un)),
            {
              kind: "min",
              value: 0.95,
            },
          ),
        );
      }
      if (ctx.wants("slider")) {
        const p = ctx.prompts.p64;
        const [sl, ort] = await interleaved([() => e.sliderToFirstToken!(p, steer, "panel"), () => plain.forward(p)], ctx.repeats(false));
        rows.push(
          ratioRow(
            `slider change to first steered token / plain forward of the prompt, q4 (64 tok)`,
            sec("Introspect", sl),
            sec("ORT plain", ort),
            report,
          ),
        );
      }
    } finally {
      await plain.release();
      await e.close();
    }
    return rows;
  },
};

async function sweepRows(ctx: Ctx1b, e: EngineModel, plain: Awaited<ReturnType<Ctx1b["plain"]>>): Promise<Row[]> {
  const clean = ctx.prompts.p64;
  const n = clean.length;
  const corrupted = corrupt(clean, [10, 20, n - 19], ctx.model.vocab, 99);
  const [correct, second] = top2Last(await plain.logits(clean), ctx.model.vocab);
  const [top] = top2Last(await plain.logits(corrupted), ctx.model.vocab);
  const layers = Array.from({ length: ctx.opts.quick ? Math.min(2, ctx.model.layers) : ctx.model.layers }, (_, i) => i);
  const positions = Array.from({ length: 32 }, (_, i) => n - 32 + i);
  const spec: SweepSpec = { clean, corrupted, layers, positions, correct, wrong: top === correct ? second : top };
  const cells = layers.length * positions.length;
  const one = await time(() => plain.forward(clean), ctx.repeats(false));
  let note = "";
  const s = await time(
    async () => {
      const o = await e.sweep!(spec);
      note = `${o.cellsRun} cells run, ${o.cellsSkipped} skipped as unchanged, ${o.forwardPasses} passes`;
    },
    1,
    0,
  );
  const after = await time(() => plain.forward(clean), ctx.repeats(false));
  const limit = scaleStat(statOf([...one.samples, ...after.samples]), cells);
  ctx.log(`q4 sweep ${layers.length}x32: ${s.median.toFixed(1)} s; plain 64 tok ${ms(one)} before, ${ms(after)} after`);
  return [
    ratioRow(
      `patching sweep ${layers.length}x32 / (cells x plain forward), q4, 64 tok`,
      sec("Introspect", s),
      sec(`${cells} x ORT plain`, limit),
      { kind: "max", value: 0.2 },
      note,
    ),
  ];
}

/** fp32: one session of 6 GB at a time, so the plain forward is timed before the engine opens. */
export const fp32Phase: Phase = {
  id: "fp32",
  figures: ["plain", "capture"],
  async run(ctx) {
    const rows: Row[] = [];
    const ort: Record<number, Stat> = {};
    const plain = await ctx.plain(ctx.model.onnx);
    try {
      for (const n of fp32Sizes(ctx)) {
        const ids = n === 128 ? ctx.prompts.p128 : ctx.prompts.p1024;
        ort[n] = await time(() => plain.forward(ids), ctx.repeats(n > 128));
        ctx.log(`fp32 ORT plain ${n} tokens: ${ms(ort[n])}`);
      }
    } finally {
      await plain.release();
    }
    const e = await engine(ctx, undefined, 1);
    try {
      for (const n of fp32Sizes(ctx)) {
        const ids = n === 128 ? ctx.prompts.p128 : ctx.prompts.p1024;
        const [own, cap] = await interleaved([() => e.plain(ids), () => e.captureAll!(ids)], ctx.repeats(n > 128));
        ctx.log(`fp32 ${n} tokens: engine plain ${ms(own)}, capture ${ms(cap)}`);
        rows.push(
          ratioRow(
            `plain forward ${n} tok, fp32: Introspect / ORT on the unmodified graph`,
            sec("Introspect", own),
            sec("ORT", ort[n]),
            report,
            "ORT timed first: two fp32 sessions do not fit",
          ),
        );
        const goal = n === 1024 ? ({ kind: "max", value: 1.1 } as const) : report;
        rows.push(
          ratioRow(
            `capture all resid_* + mlp_post / plain forward, fp32, ${n} tok`,
            sec("Introspect capture", cap),
            sec("Introspect plain", own),
            goal,
            "alternating, same session",
          ),
        );
      }
    } finally {
      await e.close();
    }
    return rows;
  },
};

/** fp32 forwards of 1,024 tokens take minutes on a loaded 2-core machine: --quick times 128 only. */
const fp32Sizes = (ctx: Ctx1b) => (ctx.opts.quick ? [128] : [128, 1024]);

/** Opening (surgery + session) in a fresh child each, fp32 and q4, against a plain session. */
export const openPhase: Phase = {
  id: "open",
  figures: ["open"],
  async run(ctx) {
    const rows: Row[] = [];
    for (const [variant, file] of [
      ["fp32", ctx.model.onnx],
      ["q4", ctx.model.q4Onnx!],
    ] as const) {
      const size = ctx.fileBytes(file);
      const mb = Math.round(size / 2 ** 20);
      for (const mode of ["engine", "unsplit", "ort-path"] as const) {
        const fig =
          mode === "engine"
            ? `open 1B ${variant} (${mb} MiB with external data; surgery + session): peak RSS / file size`
            : mode === "unsplit"
              ? `open 1B ${variant}, large weights written whole (before: splitWeightsAbove 0): peak RSS / file size (context)`
              : `plain ORT session, 1B ${variant}: peak RSS / file size (context)`;
        const goal = mode === "engine" ? ({ kind: "max", value: 1.3 } as const) : report;
        try {
          const q4 = variant === "q4" ? "-q4" : "";
          const r = measureOpen(
            mode === "engine" ? `engine${q4}` : mode === "unsplit" ? `engine${q4}-unsplit` : "ort-path",
            mode === "ort-path" ? file : ctx.model.dir,
          );
          ctx.log(`${fig}: ${Math.round(r.maxRssBytes / 2 ** 20)} MiB in ${(r.ms / 1000).toFixed(1)} s`);
          rows.push(
            ratioRow(
              fig,
              bytes("peak RSS", r.maxRssBytes),
              bytes("file", size),
              goal,
              `${(r.ms / 1000).toFixed(1)} s, child baseline ${Math.round(r.baselineRssBytes / 2 ** 20)} MiB`,
            ),
          );
        } catch (err) {
          rows.push(notMeasured(fig, goal, (err as Error).message));
        }
      }
    }
    return rows;
  },
};

interface ProbeTiming {
  forwardMs: number;
  analysisMs: number;
}

interface ProbeOut {
  tokens: number;
  openS: number;
  openRss: number;
  plain: number;
  probe: number;
  timing?: ProbeTiming;
  peakRss: number;
  /** Seconds for the lens columns after the first lensTokens, asked for in chunks as the panel does. */
  fill: number;
  fillColumns: number;
  peakRssWithFill: number;
}

function probeChild(ctx: Ctx1b, variant: string, tokens: number, mode?: string): ProbeOut {
  const child = path.join(ROOT, "bench", "scale", "probe_child.ts");
  const r = spawnSync(process.execPath, ["-r", "tsx/cjs", child, ctx.model.dir, variant, String(tokens), ...(mode ? [mode] : [])], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0)
    throw new Error(`probe of ${tokens} tokens (${variant}) failed: ${(r.stderr || String(r.signal)).trim().split("\n").pop()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ProbeOut;
}

const split = (t?: ProbeTiming) =>
  t ? `forward ${(t.forwardMs / 1000).toFixed(1)} s, analysis ${(t.analysisMs / 1000).toFixed(1)} s` : "";

/** The host's probe (forward + heatmap + the lens of the first LENS_TOKENS tokens) against a plain forward,
 * in a child per size; the probe as before (every column's lens, every site an output) in a child
 * of its own at 128 and 1,024 tokens (at 4,096 its attention outputs alone would be 34 GB). */
export const probePhase: Phase = {
  id: "probe",
  figures: ["probe"],
  async run(ctx) {
    const rows: Row[] = [];
    const sizes = ctx.opts.long ? [128, 1024, 4096] : [128, 1024];
    const size = ctx.fileBytes(ctx.model.q4Onnx!);
    for (const n of sizes) {
      for (const mode of n === 4096 ? (["now"] as const) : (["now", "all-logits", "before"] as const)) {
        const fig =
          mode === "now"
            ? `probe to first frame (forward + layer heatmap + lens of ${LENS_TOKENS} tokens) / plain forward, q4, ${n} tok`
            : mode === "all-logits"
              ? `probe as now but the head applied to every position, not the last only / plain forward, q4, ${n} tok`
              : `probe as before (lens of every token, every site an output, head on every position) / plain forward, q4, ${n} tok`;
        const goal = n === 1024 && mode === "now" ? ({ kind: "max", value: 1.5 } as const) : report;
        try {
          const o = probeChild(ctx, "q4", n, mode);
          const peak = `peak RSS ${Math.round(o.peakRss / 2 ** 20)} MiB = ${(o.peakRss / size).toFixed(2)} x file`;
          ctx.log(`${fig}: ${o.probe.toFixed(1)} s vs ${o.plain.toFixed(1)} s; ${peak}; fill ${o.fill.toFixed(1)} s`);
          const plain = sec("engine plain", statOf([o.plain]));
          rows.push(
            ratioRow(fig, sec(mode === "now" ? "probe" : "probe before", statOf([o.probe])), plain, goal, `${split(o.timing)}; ${peak}`),
          );
          if (o.fillColumns > 0)
            rows.push(
              ratioRow(
                `the rest of the lens after the first frame (${o.fillColumns} tokens, chunks of 64) / plain forward, q4, ${n} tok (context)`,
                sec("lens fill", statOf([o.fill])),
                plain,
                report,
                `peak RSS with it ${Math.round(o.peakRssWithFill / 2 ** 20)} MiB`,
              ),
            );
          if (n === 4096) ctx.checks["4096-token probe, q4"] = `completed in ${o.probe.toFixed(0)} s; ${peak}`;
        } catch (err) {
          rows.push(notMeasured(fig, goal, (err as Error).message));
          if (n === 4096) ctx.checks["4096-token probe, q4"] = `failed: ${(err as Error).message}`;
        }
      }
    }
    return rows;
  },
};

/**
 * Right-click to pixels through the real panel (bench/probe-latency.ts: code-server, Chromium, the
 * packaged extension, Ctrl+K Alt+I on a selection) against onnxruntime's plain forward on the
 * unmodified graph timed beside it, at 128 and 1,024 tokens. Packages the extension first, so the
 * panel measured is this tree's.
 */
export const panelPhase: Phase = {
  id: "panel",
  figures: ["panel"],
  async run(ctx) {
    const sizes = [128, 1024];
    const figOf = (n: number) => `right-click to pixels in the real panel / plain forward beside VS Code, q4, ${n} tok`;
    const goalOf = (n: number) => (n === 1024 ? ({ kind: "max", value: 1.5 } as const) : report);
    const fail = (why: string) => sizes.map((n) => notMeasured(figOf(n), goalOf(n), why));
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const pkg = spawnSync(npm, ["run", "package"], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
    if (pkg.status !== 0) return fail(`npm run package failed: ${(pkg.stderr || pkg.stdout).trim().split("\n").pop()}`);
    const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "introspect-panel-")), "panel.json");
    const args = ["-r", "tsx/cjs", path.join(ROOT, "bench", "probe-latency.ts"), "--model", ctx.model.dir, "--variant", "q4"];
    args.push("--sizes", sizes.join(","), "--repeats", String(ctx.repeats(false)), "--json", json);
    const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) return fail(`bench:probe failed: ${(r.stderr || String(r.signal)).trim().split("\n").pop()}`);
    const out = JSON.parse(fs.readFileSync(json, "utf8")) as {
      rows: Record<string, number | string>[];
      samples: Record<string, { total: number[]; beside: number[]; forward: number[] }>;
    };
    fs.rmSync(path.dirname(json), { recursive: true, force: true });
    return sizes.map((n, i) => {
      const row = out.rows[i];
      const s = out.samples[String(n)];
      const note =
        `forward ${sec1(row["forward ms"])}, host analyses ${sec1(row["host analyses ms"])}, transfer ${sec1(row["transfer+decode ms"])}, ` +
        `panel ${sec1(row["panel ms"])}; plain before VS Code ${sec1(row["plain ORT before ms"])}`;
      ctx.log(`${figOf(n)}: ${row["total ms"]} ms vs ${row["plain ORT beside ms"]} ms; ${note}`);
      return ratioRow(
        figOf(n),
        sec("Introspect", statOf(s.total.map((t) => t / 1000))),
        sec("ORT plain", statOf(s.beside.map((t) => t / 1000))),
        goalOf(n),
        note,
      );
    });
  },
};

const sec1 = (v: number | string | undefined) => `${(Number(v) / 1000).toFixed(1)} s`;

// Capturing every resid_pre/mid/post and mlp.hook_post site, against the plain forward.
//
// The capture and onnxruntime's plain forward are timed in alternation (rounds of both, the order
// rotating), not minutes apart: on a shared machine the load changes between two separate series
// by more than the difference being measured.

import { mallocTuned } from "../../src/launch/mallocTuning";
import { fromPython, Stat, statOf } from "../lib/stats";
import { notMeasured, ratioRow, Row } from "../lib/table";
import { Figure, engineWith, referenceOr, sec } from "./figure";
import { loadEngine, type EngineModel } from "../lib/engine";
import type { Ctx } from "../lib/context";

export const capture: Figure = {
  id: "capture",
  referenceTasks: ["plain", "capture"],
  async run(ctx) {
    const rows: Row[] = [];
    // Most of a full capture's extra cost is fresh memory for the copied outputs (mallocTuning.ts).
    ctx.log(`malloc tuning (GLIBC_TUNABLES, src/launch/mallocTuning.ts): ${mallocTuned() ? "on" : "off"}`);
    for (const n of [64, 512] as const) {
      const fig = `capture all resid_* + mlp_post / plain forward, ${ctx.len(n)} tok`;
      const goal = { kind: "max", value: 1.1 } as const;
      const e = await engineWith(ctx, "captureAll");
      if ("why" in e) {
        rows.push(notMeasured(fig, goal, e.why));
        continue;
      }
      const ids = n === 64 ? ctx.prompts.p64 : ctx.prompts.p512;
      const plain = await ctx.plainModel();
      const repeats = n === 64 ? ctx.sizes.plainRepeats : ctx.sizes.longRepeats;
      // The engine's plain forward with large weights written whole (before splitWeights.ts), in the same rounds.
      const whole = await wholeWeights(ctx);
      const fns = [() => e.m.captureAll(ids), () => plain.forward(ids), () => e.m.plain(ids)];
      if (whole && whole.plain) {
        const p = whole.plain.bind(whole);
        fns.push(() => p(ids));
      }
      const [cap, ort, own, before] = await interleaved(fns, repeats);
      ctx.log(`capture ${ids.length} tokens: ${ms(cap)} vs plain onnxruntime ${ms(ort)}, engine plain ${ms(own)} (alternating)`);
      rows.push(ratioRow(fig, sec("Introspect", cap), sec("ORT plain", ort), goal));
      rows.push(
        ratioRow(
          `capture all / Introspect's own plain forward, ${ctx.len(n)} tok`,
          sec("Introspect capture", cap),
          sec("Introspect plain", own),
          { kind: "report" },
          "context",
        ),
      );
      if (before)
        rows.push(
          ratioRow(
            `Introspect plain forward / the same with large weights written whole (before: splitWeightsAbove 0), ${ctx.len(n)} tok`,
            sec("Introspect plain", own),
            sec("whole weights", before),
            { kind: "report" },
            "context; same rounds",
          ),
        );
    }
    await wholeModel?.close?.();
    wholeModel = undefined;
    const ref = await referenceOr(ctx);
    if (!("why" in ref)) {
      for (const n of [64, 512] as const) {
        const k = String(n);
        rows.push(
          ratioRow(
            `PyTorch hooks capture / PyTorch plain, ${ctx.len(n)} tok`,
            sec("PyTorch hooks", fromPython(ref.r.capture![k])),
            sec("PyTorch", fromPython(ref.r.plain![k])),
            { kind: "report" },
            "context",
          ),
        );
      }
    }
    return rows;
  },
};

/** Seconds per call of each function, timed in rounds (one untimed round first unless `warm` is false; the order rotates). */
export async function interleaved(fns: (() => Promise<unknown>)[], repeats: number, warm = true): Promise<Stat[]> {
  if (warm) for (const f of fns) await f();
  const samples = fns.map(() => [] as number[]);
  for (let r = 0; r < repeats; r++) {
    for (let j = 0; j < fns.length; j++) {
      const i = (r + j) % fns.length;
      const t = process.hrtime.bigint();
      await fns[i]();
      samples[i].push(Number(process.hrtime.bigint() - t) / 1e9);
    }
  }
  return samples.map(statOf);
}

let wholeModel: EngineModel | undefined;
/** A second engine model of the bench model with splitWeightsAbove 0; undefined when it cannot be opened. */
async function wholeWeights(ctx: Ctx): Promise<EngineModel | undefined> {
  if (wholeModel) return wholeModel;
  const e = await loadEngine();
  try {
    return (wholeModel = await e.api?.open(ctx.model.dir, { splitWeightsAbove: 0 }));
  } catch {
    return undefined;
  }
}

const ms = (s: Stat) => `${(s.median * 1000).toFixed(0)} ms`;

// Residual-stream patching sweep (resid_pre, layers x the last 32 positions of a 64-token prompt).

import { fromPython, scaleStat, time } from "../lib/stats";
import { SweepOutcome } from "../lib/engine";
import { notMeasured, ratioRow, Row } from "../lib/table";
import { Figure, engineWith, referenceOr, sec } from "./figure";

export const sweep: Figure = {
  id: "sweep",
  referenceTasks: ["plain", "sweep"],
  async run(ctx) {
    const rows: Row[] = [];
    const spec = await ctx.sweepSpec();
    const cells = spec.layers.length * spec.positions.length;
    const shape = `${spec.layers.length}x${spec.positions.length}`;
    const limit = scaleStat(await ctx.plainForward(64), cells);
    const ref = await referenceOr(ctx);
    const e = await engineWith(ctx, "sweep");
    let ours: ReturnType<typeof sec> | undefined;
    let outcome: SweepOutcome | undefined;
    let before: ReturnType<typeof sec> | undefined;
    const more: { cuts: number; stat: ReturnType<typeof sec> }[] = [];
    if (!("why" in e)) {
      // Before: no layer cuts (every run from the embedding, prefix reuse only), timed in the same rounds.
      const s = await time(async () => (outcome = await e.m.sweep(spec)), ctx.sizes.sweepRepeats, 1);
      const b = await time(async () => void (await e.m.sweep(spec, { layerCuts: 1 })), ctx.sizes.sweepRepeats, 1);
      ours = sec("Introspect", s);
      before = sec("without layer cuts", b);
      // --cuts: other counts of kept start layers (each cut a session holding the layers after it).
      for (const cuts of ctx.opts.cuts ?? []) {
        const t = await time(async () => void (await e.m.sweep(spec, { layerCuts: cuts })), ctx.sizes.sweepRepeats, 1);
        more.push({ cuts, stat: sec(`${cuts} cuts`, t) });
      }
    }
    const note = outcome && `${outcome.cellsRun} cells run, ${outcome.cellsSkipped} skipped as unchanged, ${outcome.forwardPasses} passes`;
    const figA = `patching sweep ${shape}: Introspect / PyTorch hooks`;
    const figB = `patching sweep ${shape} / (cells x plain forward)`;
    if ("why" in e) rows.push(notMeasured(figA, { kind: "max", value: 0.025 }, e.why));
    else if ("why" in ref) rows.push(notMeasured(figA, { kind: "max", value: 0.025 }, ref.why));
    else rows.push(ratioRow(figA, ours!, sec("PyTorch hooks", fromPython(ref.r.sweep!)), { kind: "max", value: 0.025 }, note));
    if ("why" in e) rows.push(notMeasured(figB, { kind: "max", value: 0.15 }, e.why));
    else rows.push(ratioRow(figB, ours!, sec(`${cells} x ORT plain`, limit), { kind: "max", value: 0.15 }, note));
    if (before)
      rows.push(
        ratioRow(
          `patching sweep ${shape} without layer cuts (before) / (cells x plain forward) (context)`,
          before,
          sec(`${cells} x ORT plain`, limit),
          { kind: "report" },
          "every run from the embedding, prefix reuse only",
        ),
      );
    for (const m of more)
      rows.push(
        ratioRow(
          `patching sweep ${shape} with ${m.cuts} layer cuts / (cells x plain forward) (context; default 4)`,
          m.stat,
          sec(`${cells} x ORT plain`, limit),
          { kind: "report" },
          "same run as the default",
        ),
      );
    if (!("why" in ref)) {
      const torchSweep = sec("PyTorch hooks", fromPython(ref.r.sweep!));
      rows.push(
        ratioRow(
          `PyTorch hooks sweep / (cells x ORT plain forward)`,
          torchSweep,
          sec(`${cells} x ORT plain`, limit),
          { kind: "report" },
          "context",
        ),
      );
      const torchPlain = scaleStat(fromPython(ref.r.plain!["64"]), cells);
      rows.push(
        ratioRow(
          `PyTorch hooks sweep / (cells x PyTorch plain forward)`,
          torchSweep,
          sec(`${cells} x PyTorch plain`, torchPlain),
          { kind: "report" },
          "context",
        ),
      );
      if (outcome) {
        const ours = outcome.logitDiff;
        let d = 0;
        ref.r.sweep!.logit_diff.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - ours[i][j])))));
        ctx.checks["sweep logit diff max |Introspect - PyTorch|"] = d;
      }
    }
    return rows;
  },
};

// Plain forward: Introspect's unmodified path and onnxruntime's own, each against PyTorch.

import { fromPython, time } from "../lib/stats";
import { notMeasured, ratioRow, Row } from "../lib/table";
import { Figure, engineWith, referenceOr, sec } from "./figure";

export const plain: Figure = {
  id: "plain",
  referenceTasks: ["plain"],
  async run(ctx) {
    const rows: Row[] = [];
    const ref = await referenceOr(ctx);
    for (const n of [64, 512] as const) {
      const ortStat = await ctx.plainForward(n);
      const goal = { kind: "report" } as const;
      const fig = `plain forward ${ctx.len(n)} tok: Introspect / PyTorch`;
      const e = await engineWith(ctx, "plain");
      if ("why" in ref) rows.push(notMeasured(fig, goal, ref.why));
      else if ("why" in e) rows.push(notMeasured(fig, goal, e.why));
      else {
        const ids = n === 64 ? ctx.prompts.p64 : ctx.prompts.p512;
        const s = await time(() => e.m.plain(ids), n === 64 ? ctx.sizes.plainRepeats : ctx.sizes.longRepeats);
        rows.push(ratioRow(fig, sec("Introspect", s), sec("PyTorch", fromPython(ref.r.plain![String(n)])), goal));
        rows.push(
          ratioRow(
            `plain forward ${ctx.len(n)} tok: Introspect / ORT on the unmodified graph`,
            sec("Introspect", s),
            sec("ORT", ortStat),
            goal,
            "context",
          ),
        );
      }
      if (!("why" in ref)) {
        rows.push(
          ratioRow(
            `plain forward ${ctx.len(n)} tok: onnxruntime / PyTorch`,
            sec("ORT", ortStat),
            sec("PyTorch", fromPython(ref.r.plain![String(n)])),
            goal,
            "context",
          ),
        );
      }
    }
    return rows;
  },
};

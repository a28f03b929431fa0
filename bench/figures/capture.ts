// Capturing every resid_pre/mid/post and mlp.hook_post site, against the plain forward.

import { fromPython, time } from "../lib/stats";
import { notMeasured, ratioRow, Row } from "../lib/table";
import { Figure, engineWith, referenceOr, sec } from "./figure";

export const capture: Figure = {
  id: "capture",
  referenceTasks: ["plain", "capture"],
  async run(ctx) {
    const rows: Row[] = [];
    for (const n of [64, 512] as const) {
      const base = await ctx.plainForward(n);
      const fig = `capture all resid_* + mlp_post / plain forward, ${ctx.len(n)} tok`;
      const goal = { kind: "max", value: 1.1 } as const;
      const e = await engineWith(ctx, "captureAll");
      if ("why" in e) rows.push(notMeasured(fig, goal, e.why));
      else {
        const ids = n === 64 ? ctx.prompts.p64 : ctx.prompts.p512;
        const s = await time(() => e.m.captureAll(ids), n === 64 ? ctx.sizes.plainRepeats : ctx.sizes.longRepeats);
        rows.push(ratioRow(fig, sec("Introspect", s), sec("ORT plain", base), goal));
      }
    }
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

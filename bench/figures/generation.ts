// Generation: steered against unsteered tokens/s, greedy, with past_key_values (the goal) and
// without (full recompute per step, for context).

import { fromPython, mapStat, time } from "../lib/stats";
import { notMeasured, ratioRow, Row } from "../lib/table";
import { Figure, engineWith, referenceOr, tps } from "./figure";

export const generation: Figure = {
  id: "generation",
  referenceTasks: ["generate"],
  async run(ctx) {
    const rows: Row[] = [];
    const { genTokens: n, genRepeats: reps } = ctx.sizes;
    const prompt = ctx.prompts.gen;
    const toTps = (s: ReturnType<typeof fromPython>) => mapStat(s, (t) => n / t);
    const fig = `steered / unsteered generation tok/s (KV cache, ${prompt.length}+${n} tok)`;
    const goal = { kind: "min", value: 0.95 } as const;
    const e = await engineWith(ctx, "generate");
    if ("why" in e) rows.push(notMeasured(fig, goal, e.why));
    else {
      const steer = { layer: ctx.steer.layer, vector: ctx.steerVector() };
      const un = await time(() => e.m.generate(prompt, n), reps);
      const st = await time(() => e.m.generate(prompt, n, steer), reps);
      rows.push(ratioRow(fig, tps("steered", toTps(st)), tps("unsteered", toTps(un)), goal));
      // Without past_key_values every step recomputes the whole sequence (what a graph without
      // cache inputs gets): reported for context, and against the cached run above.
      const unFull = await time(() => e.m.generate(prompt, n, undefined, false), reps);
      const stFull = await time(() => e.m.generate(prompt, n, steer, false), reps);
      const figFull = `steered / unsteered generation tok/s (no KV cache, ${prompt.length}+${n} tok)`;
      rows.push(ratioRow(figFull, tps("steered", toTps(stFull)), tps("unsteered", toTps(unFull)), { kind: "report" }));
      rows.push(
        ratioRow(`unsteered generation tok/s: no KV cache / KV cache`, tps("no cache", toTps(unFull)), tps("cache", toTps(un)), {
          kind: "report",
        }),
      );
    }
    const plainModel = await ctx.plainModel();
    let ortTokens: number[] = [];
    const ortGen = toTps(await time(async () => (ortTokens = await plainModel.generate(prompt, n)), reps));
    const ref = await referenceOr(ctx);
    if (!("why" in ref)) {
      const g = ref.r.generate!;
      rows.push(
        ratioRow(
          `unsteered generation tok/s: ORT / PyTorch`,
          tps("ORT", ortGen),
          tps("PyTorch", toTps(fromPython(g.unsteered))),
          { kind: "report" },
          "context",
        ),
      );
      rows.push(
        ratioRow(
          `PyTorch hooks steered / unsteered tok/s`,
          tps("steered", toTps(fromPython(g.steered))),
          tps("unsteered", toTps(fromPython(g.unsteered))),
          { kind: "report" },
          "context",
        ),
      );
      ctx.checks["greedy tokens equal, ORT vs PyTorch"] = String(ortTokens.join(",") === g.unsteered.tokens.join(","));
    }
    return rows;
  },
};

// Live steering latency: from a slider change to the first steered token, on the steering panel's
// path (paired unsteered/steered generation, the host's LiveSteering), with two context rows: the
// same path as it was before (prompt fed twice per move, every position unembedded), and a
// steered generation alone with full logits (what this figure measured until then).

import type { SliderPath } from "../lib/engine";
import { Stat, statOf } from "../lib/stats";
import { notMeasured, ratioRow } from "../lib/table";
import { Figure, engineWith, sec } from "./figure";

export const slider: Figure = {
  id: "slider",
  referenceTasks: [],
  async run(ctx) {
    const prompt = ctx.prompts.p64;
    const n = prompt.length;
    const fig = `slider change to first steered token / plain forward of the prompt (${n} tok)`;
    const goal = { kind: "max", value: 0.4 } as const;
    const e = await engineWith(ctx, "sliderToFirstToken");
    if ("why" in e) return [notMeasured(fig, goal, e.why)];
    const m = await ctx.plainModel();
    const steer = { layer: ctx.steer.layer, vector: ctx.steerVector() };
    const paths: SliderPath[] = ["panel", "panel-full-graph", "panel-before", "steered-only"];
    const samples = new Map<SliderPath | "plain", number[]>([["plain", []], ...paths.map((p) => [p, []] as [SliderPath, number[]])]);
    // Interleaved, one of each per round (the first round is warm-up), so load changes on a
    // shared machine fall on every path alike.
    for (let i = 0; i < ctx.sizes.plainRepeats + 1; i++) {
      const t = process.hrtime.bigint();
      await m.forward(prompt);
      const plain = Number(process.hrtime.bigint() - t) / 1e9;
      if (i > 0) samples.get("plain")!.push(plain);
      for (const p of paths) {
        const s = await e.m.sliderToFirstToken(prompt, steer, p);
        if (i > 0) samples.get(p)!.push(s);
      }
    }
    const stat = (k: SliderPath | "plain"): Stat => statOf(samples.get(k)!);
    const base = sec("ORT plain", stat("plain"));
    const report = { kind: "report" } as const;
    return [
      ratioRow(fig, sec("Introspect", stat("panel")), base, goal),
      ratioRow(
        `slider, the panel's path with the steered pass over the whole graph (before the layer cut) / plain forward (context)`,
        sec("whole graph", stat("panel-full-graph")),
        base,
        report,
      ),
      ratioRow(
        `slider, the panel's path before (prompt fed twice per move, all positions unembedded) / plain forward (context)`,
        sec("before", stat("panel-before")),
        base,
        report,
      ),
      ratioRow(
        `slider, a steered generation alone (no unsteered side, all positions unembedded) / plain forward (context)`,
        sec("steered only", stat("steered-only")),
        base,
        report,
      ),
    ];
  },
};

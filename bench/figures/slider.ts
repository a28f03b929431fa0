// Live steering latency: from a slider change to the first steered token.

import { statOf, time } from "../lib/stats";
import { notMeasured, ratioRow } from "../lib/table";
import { Figure, engineWith, sec } from "./figure";

export const slider: Figure = {
  id: "slider",
  referenceTasks: [],
  async run(ctx) {
    const prompt = ctx.prompts.p64;
    const fig = `slider change to first steered token / plain forward of the prompt (${prompt.length} tok)`;
    const goal = { kind: "max", value: 1.3 } as const;
    const e = await engineWith(ctx, "sliderToFirstToken");
    if ("why" in e) return [notMeasured(fig, goal, e.why)];
    const m = await ctx.plainModel();
    const base = await time(() => m.forward(prompt), ctx.sizes.plainRepeats);
    const samples: number[] = [];
    for (let i = 0; i < ctx.sizes.plainRepeats + 1; i++) {
      const s = await e.m.sliderToFirstToken(prompt, { layer: ctx.steer.layer, vector: ctx.steerVector() });
      if (i > 0) samples.push(s);
    }
    return [ratioRow(fig, sec("Introspect", statOf(samples)), sec("ORT plain", base), goal)];
  },
};

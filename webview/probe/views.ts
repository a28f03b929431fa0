// The probe panel's sections for each view an analysis names (ANALYSIS_VIEWS in
// src/engine/analysis/views.ts): main.ts lays them out in the registry's order. A view named there
// and missing here does not type-check.
import type { ProbeView } from "../../src/protocol/probeData";
import { attentionView } from "./attentionView";
import { headsView } from "./headsView";
import { layerView } from "./layerView";
import { lensView } from "./lensView";
import type { PanelContext } from "./model";
import { moeView } from "./moeView";
import { neuronView } from "./neuronView";

/** What a view hands back to the panel: the logit lens follows the token selected in any view. */
export interface PanelHooks {
  follow: { show?(col: number): void };
}

export const VIEWS: Record<ProbeView, (ctx: PanelContext, hooks: PanelHooks) => HTMLElement[]> = {
  layers: (ctx) => [layerView(ctx)],
  lens: (ctx, hooks) => {
    const lens = lensView(ctx);
    hooks.follow.show = lens.show;
    return [lens.root];
  },
  neurons: (ctx) => [neuronView(ctx)],
  // Per-head scores sit under the attention pattern they rank.
  attention: (ctx) => [attentionView(ctx), headsView(ctx)],
  moe: (ctx) => (ctx.result.moe ? [moeView(ctx, ctx.result.moe)] : []),
};

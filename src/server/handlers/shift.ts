// introspect/fidelity: the loaded variant's fidelity badge (src/engine/shift/fidelity.ts) for Model
// Info, computed once per pair of files on the built-in text set and cached in the cache dir.
import { fidelityBadge, fidelityUnavailable } from "../../engine";
import { IntrospectError } from "../../engine";
import { pplSparsityOfRows, sparsityOfRows, type PplSparsity } from "../../engine";
import { FidelityRequest, SparsityRequest, type FidelityResult, type SparsityResult } from "../../protocol/lsp";
import type { HostContext } from "../context";

export function register(ctx: HostContext): void {
  // One computation per model at a time: Model Info may ask again (a redraw) while the first runs.
  const running = new Map<string, ReturnType<typeof fidelityBadge>>();
  ctx.connection.onRequest(FidelityRequest.type, async (): Promise<FidelityResult> => {
    if (ctx.getState().kind !== "ready") return { unavailable: "No model is loaded." };
    try {
      const model = await ctx.engine.get("open Model Info again");
      const why = fidelityUnavailable(model);
      if (why) return { unavailable: why };
      const key = model.resolved.onnxPath;
      let job = running.get(key);
      if (!job) {
        job = fidelityBadge(model, await ctx.engine.tokenizer(model));
        running.set(key, job);
        void job.finally(() => running.delete(key)).catch(() => undefined);
      }
      const badge = await job;
      if (!badge) return { unavailable: "No badge for this model." };
      const s = badge.summary;
      return { summary: s.text, top1Agreement: s.top1Agreement, meanKL: s.meanKL, driftLayer: s.driftLayer, cached: badge.cached };
    } catch (e) {
      throw new Error(
        e instanceof IntrospectError
          ? e.message
          : `The fidelity badge could not be computed: ${String((e as Error).message ?? e).split("\n")[0]}`,
      );
    }
  });

  ctx.connection.onRequest(SparsityRequest.type, async (p, token): Promise<SparsityResult> => {
    const progress = await ctx.connection.window.createWorkDoneProgress();
    progress.begin("Introspect: activation sparsity", undefined, "measuring", false);
    try {
      const model = await ctx.engine.get("measure again");
      const layers = await sparsityOfRows(model, [p.ids], p.threshold, token);
      const ppl: PplSparsity[] = [];
      for (const pct of p.ps) {
        progress.report(`PPL-${pct}% search`);
        ppl.push(await pplSparsityOfRows(model, [p.ids], pct, { cancel: token }));
      }
      return {
        threshold: p.threshold,
        layers: layers.map((l, i) => ({
          layer: l.layer,
          exactZero: l.exactZero,
          belowThreshold: l.belowThreshold,
          ppl: ppl.map((r) => r.found.perLayer[i]),
        })),
        ppl: ppl.map((r) => ({ p: r.p, share: r.found.share, threshold: r.found.threshold, baseline: r.baseline, ppl: r.found.ppl })),
      };
    } catch (e) {
      throw new Error(
        e instanceof IntrospectError ? e.message : `Sparsity could not be measured: ${String((e as Error).message ?? e).split("\n")[0]}`,
      );
    } finally {
      progress.done();
    }
  });
}

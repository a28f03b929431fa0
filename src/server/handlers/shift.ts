// introspect/fidelity: the loaded variant's fidelity badge (src/engine/shift/fidelity.ts) for Model
// Info, computed once per pair of files on the built-in text set and cached in the cache dir.
import { fidelityBadge, fidelityUnavailable } from "../../engine";
import { IntrospectError } from "../../engine";
import { FidelityRequest, type FidelityResult } from "../../protocol/lsp";
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
}

// introspect/patchHeads: per-head patching for the patching panel (the engine's runHeadPatching,
// one head's attn.hook_z slice from the clean run into the corrupted one, a layer x head grid).
import { runHeadPatching, type LoadedModel } from "../../engine";
import { HeadPatchRequest, type HeadPatchData, type HeadPatchParams } from "../../protocol/headPatch";
import type { CancelToken } from "../../engine";
import type { HostContext } from "../context";
import { userError } from "./errors";
import { encode, tokenizerOf } from "./patch";

export async function patchHeads(model: LoadedModel, p: HeadPatchParams, cancel?: CancelToken): Promise<HeadPatchData> {
  const started = Date.now();
  const tok = await tokenizerOf(model);
  const exp = p.experiment;
  const r = await runHeadPatching(
    model,
    {
      cleanIds: encode(tok, exp.clean, "clean"),
      corruptIds: encode(tok, exp.corrupt, "corrupted"),
      correct: p.correct,
      wrong: p.wrong,
      layers: exp.layers?.length ? [...new Set(exp.layers)].sort((a, b) => a - b) : undefined,
    },
    { batchSize: exp.batchSize, cancel },
  );
  return {
    layers: r.layers,
    numHeads: r.numHeads,
    headDim: r.headDim,
    normalised: Array.from(r.normalised),
    logitDiff: Array.from(r.logitDiff),
    cellsRun: r.cellsRun,
    cellsSkipped: r.cellsSkipped,
    forwardPasses: r.forwardPasses,
    ms: Date.now() - started,
  };
}

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(HeadPatchRequest.type, async (p, token) => {
    try {
      const r = await patchHeads(await ctx.engine.get("patch the heads again"), p, token);
      ctx.log(`per-head patching: ${r.cellsRun} heads in ${r.forwardPasses} passes, ${r.ms} ms`);
      return r;
    } catch (e) {
      throw userError(e, "Per-head patching", token);
    }
  });
}

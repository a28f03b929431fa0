// introspect/compareModels ("Compare with…" in the probe panel): the probed text through the loaded
// model and a second one, compared with the engine's two-model diff (src/engine/shift/diff.ts) over
// the whole text and cut to the probe's selected tokens. Model B is opened for the request and
// disposed before it answers; the loaded model stays the host's shared one.
import * as path from "path";
import { diffModels, IntrospectError, loadTokenizer, openModel, sliceDiff, type LoadedModel } from "../../engine";
import { CompareModelsRequest, type CompareModelsParams, type ModelComparison } from "../../protocol/compareModels";
import { toWire } from "../../protocol/wire";
import type { HostContext } from "../context";
import { engineThreads } from "../engineModel";
import { anyCancelled, userError } from "./errors";

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(CompareModelsRequest.type, async (p, token) => {
    const progress = await ctx.connection.window.createWorkDoneProgress();
    // Not cancellable here: the extension's notification has the Cancel button (as for probes).
    progress.begin("Introspect: comparing models", undefined, "opening the models", false);
    let b: LoadedModel | undefined;
    try {
      const cancel = anyCancelled(token, progress.token);
      const a = await ctx.engine.get("compare again");
      checkParams(p, a);
      const tokA = await ctx.engine.tokenizer(a);
      progress.report(`opening ${path.basename(p.modelB.path)}`);
      b = await openModel(p.modelB.path, {
        ...(p.modelB.variant ? { variant: p.modelB.variant } : {}),
        ...(engineThreads() ? { intraOpThreads: engineThreads() } : {}),
        executionProvider: ctx.getModel()?.executionProvider,
        warm: false,
      });
      const tokB = await loadTokenizer(b.resolved.folder);
      if (cancel.isCancellationRequested) throw new IntrospectError("cancelled", "Cancelled.");
      progress.report("running both models");
      const whole = await diffModels({ model: a, tok: tokA }, { model: b, tok: tokB }, p.text, cancel);
      if (whole.tokens.length !== p.ids.length || whole.tokens.some((t, i) => t.id !== p.ids[i]))
        throw new IntrospectError(
          "bad-input",
          "The loaded model reads the probed text differently from when it was probed: probe the selection again, then compare.",
        );
      return toWire(comparisonOf(sliceDiff(whole, p.selection.start, p.selection.end), p, b, tokA));
    } catch (e) {
      throw userError(e, "The comparison", token);
    } finally {
      progress.done();
      await b?.dispose().catch(() => undefined);
    }
  });
}

/** Refuses a request whose probe is not of the loaded model or whose selection is not within its tokens. */
function checkParams(p: CompareModelsParams, a: LoadedModel): void {
  if (p.modelId !== a.info.id)
    throw new IntrospectError(
      "bad-input",
      `This probe was made with ${p.modelId}, but ${a.info.id} is loaded now: probe the selection again, then compare.`,
    );
  const { start, end } = p.selection;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= p.ids.length))
    throw new IntrospectError("bad-input", "The probe's selection is not within its tokens: probe the selection again, then compare.");
}

function comparisonOf(
  d: ReturnType<typeof sliceDiff>,
  p: CompareModelsParams,
  b: LoadedModel,
  tok: { tokenText(id: number): string },
): ModelComparison {
  const vocab: Record<number, string> = {};
  for (const id of [...d.top1A, ...d.top1B]) vocab[id] ??= tok.tokenText(id);
  const folder = b.resolved.folder;
  return {
    probeId: p.probeId,
    a: d.a,
    b: d.b,
    bFile: path.join(path.basename(folder), path.relative(folder, b.resolved.onnxPath)),
    modelB: p.modelB,
    tokens: d.tokens,
    offset: p.selection.start,
    layers: d.layers,
    sites: d.sites,
    norm: d.norm,
    cosine: d.cosine,
    relative: d.relative,
    meanRelative: d.meanRelative,
    kl: d.kl,
    top1A: d.top1A,
    top1B: d.top1B,
    vocab,
    summary: d.summary,
  };
}

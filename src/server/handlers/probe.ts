// introspect/probe, introspect/probeNeurons, introspect/probeAttention: the probe panel's data.
// The host's loader (model.ts) opens a plain onnxruntime session; probing needs the engine's
// LoadedModel (architecture map, captures, logit lens), opened here from the same .onnx file on
// the first probe and kept until the configured model changes.
import type { CancellationToken } from "vscode-languageserver/node";
import { openModel, type LoadedModel } from "../../engine";
import { ProbeSessions } from "../../engine/analysis/probe";
import { IntrospectError } from "../../engine/types";
import { ProbeAttentionRequest, ProbeNeuronsRequest, ProbeRequest } from "../../protocol/lsp";
import { toWire } from "../../protocol/probeData";
import type { HostContext, LoadedModel as HostModel } from "../context";

/** The engine model opened for the host's current model; reopened when that changes. */
interface EngineModel {
  forModel: HostModel;
  model: Promise<LoadedModel>;
}

export function register(ctx: HostContext): void {
  const sessions = new ProbeSessions();
  let engine: EngineModel | undefined;

  async function engineModel(): Promise<LoadedModel> {
    const current = ctx.getModel();
    if (!current) {
      const s = ctx.getState();
      throw new IntrospectError(
        "model-not-found",
        s.kind === "loading"
          ? "The model is still loading: wait for the status bar to show it, then probe again."
          : s.kind === "failed"
            ? `The model could not be loaded (${s.reason}): fix introspect.model, then probe again.`
            : "No model is loaded: set introspect.model to a model folder, then probe again.",
      );
    }
    if (engine?.forModel !== current) {
      const old = engine;
      sessions.clear();
      engine = { forModel: current, model: openModel(current.onnxFile, { intraOpThreads: threads() }) };
      // A failed open is retried on the next probe rather than remembered.
      engine.model.catch(() => {
        if (engine?.forModel === current) engine = undefined;
      });
      if (old) void old.model.then((m) => m.dispose()).catch(() => undefined);
    }
    return engine.model;
  }

  ctx.connection.onRequest(ProbeRequest.type, async (p, token) => {
    const progress = await ctx.connection.window.createWorkDoneProgress();
    progress.begin("Introspect: probing", undefined, "opening the model", true);
    try {
      const model = await engineModel();
      progress.report("running the model");
      const result = await sessions.probe(model, p.text, p.selection, {
        maxTokens: p.maxTokens,
        neuronLayer: p.neuronLayer,
        neuronCount: p.neuronCount,
        attention: p.attention,
        cancel: anyCancelled(token, progress.token),
      });
      return toWire(result);
    } catch (e) {
      throw userError(e, token);
    } finally {
      progress.done();
    }
  });

  ctx.connection.onRequest(ProbeNeuronsRequest.type, async (p, token) => {
    try {
      const model = await engineModel();
      return toWire(await sessions.get(p.probeId, model).neurons({ layer: p.layer, k: p.k }));
    } catch (e) {
      throw userError(e, token);
    }
  });

  ctx.connection.onRequest(ProbeAttentionRequest.type, async (p, token) => {
    try {
      const model = await engineModel();
      return toWire(await sessions.get(p.probeId, model).attention({ layer: p.layer, head: p.head }));
    } catch (e) {
      throw userError(e, token);
    }
  });
}

/** onnxruntime intra-op threads for probes: INTROSPECT_THREADS when set, else onnxruntime's choice. */
function threads(): number | undefined {
  const n = Number(process.env.INTROSPECT_THREADS);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function anyCancelled(...tokens: CancellationToken[]) {
  return {
    get isCancellationRequested() {
      return tokens.some((t) => t.isCancellationRequested);
    },
  };
}

/**
 * The client shows `message` as it is. IntrospectErrors are sentences already; anything else
 * (an onnxruntime failure) gets a sentence around it instead of a stack trace.
 */
function userError(e: unknown, token?: CancellationToken): Error {
  if (token?.isCancellationRequested) return new Error("Cancelled.");
  if (e instanceof IntrospectError) return new Error(e.message);
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`The probe failed inside the model runtime: ${msg.split("\n")[0]}. See the "Introspect Model Host" output for details.`);
}

// introspect/probe, introspect/probeNeurons, introspect/probeAttention: the probe panel's data.
// The host's loader (model.ts) opens a plain onnxruntime session; probing needs the engine's
// LoadedModel (architecture map, captures, logit lens): the host's shared one (ctx.engine), opened
// on first use and kept until the configured model changes.
import type { LoadedModel } from "../../engine";
import { ProbeSessions } from "../../engine";
import { ProbeAttentionRequest, ProbeLensRequest, ProbeNeuronsRequest, ProbeRequest } from "../../protocol/lsp";
import { toWire } from "../../protocol/wire";
import { describeIntervention } from "../../protocol/experts";
import type { HostContext } from "../context";
import { ProbeValueStore } from "../language/engineFacade";
import { probeValueRows } from "../language/probeValues";
import { anyCancelled, userError } from "./errors";

/** Values of recent probes by text, for prompt-file hovers (the host passes it to the language features). */
export const probeValues = new ProbeValueStore();

export function register(ctx: HostContext): void {
  const sessions = new ProbeSessions();
  let lastModel: LoadedModel | undefined;

  // The host's shared engine model (src/server/engineModel.ts); probes of an older model are dropped.
  async function engineModel(): Promise<LoadedModel> {
    const model = await ctx.engine.get("probe again");
    if (model !== lastModel) {
      sessions.clear();
      lastModel = model;
    }
    return model;
  }

  ctx.connection.onRequest(ProbeRequest.type, async (p, token) => {
    const progress = await ctx.connection.window.createWorkDoneProgress();
    // Not cancellable here: the extension's own progress notification has the Cancel button, and a
    // cancellable host progress would show a second notification.
    progress.begin("Introspect: probing", undefined, "opening the model", false);
    try {
      const model = await engineModel();
      progress.report("running the model");
      const result = await sessions.probe(model, p.text, p.selection, {
        tokenizer: await ctx.engine.tokenizer(model),
        maxTokens: p.maxTokens,
        neuronLayer: p.neuronLayer,
        neuronCount: p.neuronCount,
        attention: p.attention,
        ...(p.lensTokens !== undefined ? { lensTokens: p.lensTokens } : {}),
        ...(p.experts?.length
          ? { experts: p.experts, expertsNote: `Probed with expert interventions: ${p.experts.map(describeIntervention).join(", ")}.` }
          : {}),
        cancel: anyCancelled(token, progress.token),
      });
      // Prompt-file hovers show these values at each probed token.
      probeValues.record(p.text, probeValueRows(result));
      return toWire(result);
    } catch (e) {
      throw userError(e, "The probe", token);
    } finally {
      progress.done();
    }
  });

  ctx.connection.onRequest(ProbeNeuronsRequest.type, async (p, token) => {
    try {
      const model = await engineModel();
      return toWire(await sessions.get(p.probeId, model).neurons({ layer: p.layer, k: p.k }));
    } catch (e) {
      throw userError(e, "The probe", token);
    }
  });

  ctx.connection.onRequest(ProbeLensRequest.type, async (p, token) => {
    try {
      const model = await engineModel();
      return toWire(await sessions.get(p.probeId, model).lens({ start: p.start, end: p.end }, anyCancelled(token)));
    } catch (e) {
      throw userError(e, "The logit lens", token);
    }
  });

  ctx.connection.onRequest(ProbeAttentionRequest.type, async (p, token) => {
    try {
      const model = await engineModel();
      return toWire(await sessions.get(p.probeId, model).attention({ layer: p.layer, head: p.head, queries: p.queries }));
    } catch (e) {
      throw userError(e, "The probe", token);
    }
  });
}

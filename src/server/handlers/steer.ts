// introspect/steer*: building, loading, combining and exporting steering vectors, the live paired
// generation of the steering side panel (steps stream as introspect/steerStep), and sweeps.
// Vectors live in the host by id (steerLive.ts); the client keeps their .ivec bytes and files.
import * as path from "path";
import type { CancelToken, LoadedModel } from "../../engine";
import { steeringSweep, stopIdsOf } from "../../engine";
import {
  atLayer,
  buildFromContrast,
  capturePooled,
  combine,
  decodeIvec,
  encodeIvec,
  exportControlVector,
  fromPair,
  importControlVector,
  withLayerWeights,
  wordTokenIds,
  type SteeringVector,
} from "../../engine";
import { IntrospectError, RESIDUAL_SHORT_NAMES, SITE_SHORT_NAMES, hookName, parseHookName, type SiteKind } from "../../engine";
import { BuiltVectorStore } from "../language/engineFacade";
import {
  SteerBuildRequest,
  SteerCombineRequest,
  SteerExportRequest,
  SteerGenerateRequest,
  SteerLayersRequest,
  SteerLoadRequest,
  SteerPairRequest,
  SteerStepNotification,
  SteerSweepRequest,
  type SteerVectorResult,
} from "../../protocol/lsp";
import type { HostContext } from "../context";
import { LiveSteering, vectorInfo } from "./steerLive";
import { anyCancelled, userError } from "./errors";

/** Vectors built from contrast blocks, by file and block: for the "Open in steering panel" lens. */
export const builtVectors = new BuiltVectorStore();

const SHORT_KINDS: Record<string, SiteKind> = Object.fromEntries(RESIDUAL_SHORT_NAMES.map((n) => [n, SITE_SHORT_NAMES[n]]));

/** What the steering requests share: the LiveSteering (vector registry, pass gate) of the host's engine model. */
class SteerSession {
  private current: { model: LoadedModel; live: Promise<LiveSteering> } | undefined;
  /** The live generation now running; a new one supersedes it at once (before its cancel arrives). */
  liveCancel: { isCancellationRequested: boolean } | undefined;

  constructor(readonly ctx: HostContext) {}

  /** One LiveSteering per engine model; the engine model is the host's shared one. */
  async live(): Promise<LiveSteering> {
    const model = await this.ctx.engine.get("try again");
    if (this.current?.model !== model) {
      const entry = { model, live: this.ctx.engine.tokenizer(model).then((tok) => new LiveSteering(model, tok)) };
      this.current = entry;
      entry.live.catch(() => {
        if (this.current === entry) this.current = undefined;
      });
    }
    return this.current.live;
  }

  /** Registers `v` (under `id` when given) and answers it with its .ivec bytes. */
  result(l: LiveSteering, v: SteeringVector, id?: string): SteerVectorResult {
    const key = l.add(v, id);
    return { vector: vectorInfo(key, v), ivec: encodeIvec(v).toString("base64") };
  }
}

type ParamsOf<R> = R extends { type: { readonly _: [infer P, ...unknown[]] | undefined } } ? P : never;

export function register(ctx: HostContext): void {
  const s = new SteerSession(ctx);
  ctx.connection.onRequest(SteerBuildRequest.type, (p, token) => build(s, p, token));
  ctx.connection.onRequest(SteerPairRequest.type, (p, token) => pair(s, p, token));
  ctx.connection.onRequest(SteerLoadRequest.type, (p, token) => load(s, p, token));
  ctx.connection.onRequest(SteerCombineRequest.type, (p, token) => combineVectors(s, p, token));
  ctx.connection.onRequest(SteerLayersRequest.type, (p, token) => layerWeights(s, p, token));
  ctx.connection.onRequest(SteerExportRequest.type, (p, token) => exportGguf(s, p, token));
  ctx.connection.onRequest(SteerGenerateRequest.type, (p, token) => generatePaired(s, p, token));
  ctx.connection.onRequest(SteerSweepRequest.type, (p, token) => sweep(s, p, token));
}

/** Vectors from a contrast block, one per listed layer, with progress and cancel. */
async function build(s: SteerSession, p: ParamsOf<typeof SteerBuildRequest>, token: CancelToken): Promise<SteerVectorResult[]> {
  const { ctx } = s;
  const progress = await ctx.connection.window.createWorkDoneProgress();
  progress.begin(`Introspect: building steering vector "${p.spec.name}"`, 0, "opening the model", true);
  const cancel = anyCancelled(token, progress.token);
  try {
    const l = await s.live();
    const info = l.model.info;
    const kind = siteKind(p.spec.site);
    const layers = p.spec.layers.length ? p.spec.layers : [Math.floor(info.numLayers / 2)];
    for (const layer of layers) {
      if (layer >= info.numLayers)
        throw new IntrospectError("bad-input", `Layer ${layer} does not exist: ${info.id} has layers 0-${info.numLayers - 1}.`);
    }
    const enc = (s: string) => l.tok.encode(s).map((t) => t.id);
    const positive = p.spec.positive.map(enc);
    const negative = p.spec.negative.map(enc);
    const out: SteerVectorResult[] = [];
    for (const [i, layer] of layers.entries()) {
      progress.report(Math.round((100 * i) / layers.length), `layer ${layer}: ${positive.length}+${negative.length} prompts`);
      const v = await buildFromContrast(l.model, {
        name: layers.length > 1 ? `${p.spec.name}@${layer}` : p.spec.name,
        site: hookName(layer, kind),
        positive,
        negative,
        method: p.spec.method === "pca" ? "pca" : "mean-diff",
        pooling: p.spec.position,
        normalise: p.spec.normalize,
        source: p.source,
        cancel,
      });
      out.push(s.result(l, v));
    }
    if (p.uri) builtVectors.record(p.uri, p.spec.name, out[0].vector.id);
    return out;
  } catch (e) {
    throw userError(e, "Steering", cancel);
  } finally {
    progress.done();
  }
}

/** A vector from two selections: the positive activation minus the negative one. */
async function pair(s: SteerSession, p: ParamsOf<typeof SteerPairRequest>, token: CancelToken): Promise<SteerVectorResult> {
  try {
    const l = await s.live();
    const site = p.site;
    if (!parseHookName(site)) throw new IntrospectError("bad-input", `"${site}" is not a site name such as blocks.2.hook_resid_post.`);
    const [pos] = await capturePooled(l.model, [l.tok.encode(p.positive).map((t) => t.id)], site, p.pooling, { cancel: token });
    const [neg] = await capturePooled(l.model, [l.tok.encode(p.negative).map((t) => t.id)], site, p.pooling, { cancel: token });
    const v = fromPair(pos, neg, {
      name: p.name,
      modelId: l.model.info.id,
      site,
      pooling: p.pooling,
      normalise: false,
      source: "two selections",
    });
    return s.result(l, v);
  } catch (e) {
    throw userError(e, "Steering", token);
  }
}

/** Vectors from an .ivec or a GGUF control vector. */
async function load(s: SteerSession, p: ParamsOf<typeof SteerLoadRequest>, token: CancelToken) {
  try {
    const l = await s.live();
    const bytes = Buffer.from(p.base64, "base64");
    if (p.format === "ivec") {
      const r = s.result(l, decodeIvec(bytes, p.label), p.id);
      if (p.builtFrom) builtVectors.record(p.builtFrom.uri, p.builtFrom.block, r.vector.id);
      return { vectors: [r], warnings: [] };
    }
    const name = path.basename(p.label).replace(/\.gguf$/i, "");
    const cv = importControlVector(bytes, { name, modelId: l.model.info.id, model: l.model.info, label: p.label });
    return { vectors: cv.vectors.map((v) => s.result(l, v)), warnings: cv.warnings };
  } catch (e) {
    throw userError(e, "Steering", token);
  }
}

async function combineVectors(s: SteerSession, p: ParamsOf<typeof SteerCombineRequest>, token: CancelToken): Promise<SteerVectorResult> {
  try {
    const l = await s.live();
    return s.result(
      l,
      combine(
        p.parts.map((x) => ({ vector: l.get(x.id), coef: x.coef })),
        p.name,
      ),
    );
  } catch (e) {
    throw userError(e, "Steering", token);
  }
}

/** A vector applied over several layers with a weight each, or back at its own site alone. */
async function layerWeights(s: SteerSession, p: ParamsOf<typeof SteerLayersRequest>, token: CancelToken): Promise<SteerVectorResult> {
  try {
    const l = await s.live();
    const v = l.get(p.id);
    const n = l.model.info.numLayers;
    const weights = (p.weights ?? []).filter((w) => w.weight !== 0);
    for (const w of weights) {
      if (!Number.isInteger(w.layer) || w.layer < 0 || w.layer >= n)
        throw new IntrospectError("bad-input", `Layer ${w.layer} does not exist: ${l.model.info.id} has layers 0-${n - 1}.`);
      if (!Number.isFinite(w.weight)) throw new IntrospectError("bad-input", `The weight of layer ${w.layer} is not a number.`);
    }
    if (p.weights && weights.length === 0)
      throw new IntrospectError(
        "bad-input",
        "Every layer weight is 0: give at least one layer a weight, or reset to the vector's own layer.",
      );
    return s.result(l, withLayerWeights(v, weights), p.id);
  } catch (e) {
    throw userError(e, "Steering", token);
  }
}

async function exportGguf(s: SteerSession, p: ParamsOf<typeof SteerExportRequest>, token: CancelToken): Promise<{ base64: string }> {
  try {
    const l = await s.live();
    const hint = String(l.model.resolved.config?.model_type ?? l.model.info.architecture);
    return { base64: exportControlVector(l.active(p.vectors), hint).toString("base64") };
  } catch (e) {
    throw userError(e, "Steering", token);
  }
}

/** The live paired generation; each step goes out as introspect/steerStep, a newer generation cancels this one. */
async function generatePaired(s: SteerSession, p: ParamsOf<typeof SteerGenerateRequest>, token: CancelToken) {
  const { ctx } = s;
  if (s.liveCancel) s.liveCancel.isCancellationRequested = true;
  const mine = { isCancellationRequested: false };
  s.liveCancel = mine;
  const cancel = anyCancelled(token, mine);
  try {
    const l = await s.live();
    const r = await l.generate({
      prompt: p.prompt,
      vectors: p.vectors,
      maxTokens: p.maxTokens,
      sampling: p.sampling,
      ...(p.experts?.length ? { experts: p.experts } : {}),
      stopIds: stopIdsOf(l.model.resolved.folder, l.tok.eosTokenId),
      cancel,
      onStep: (step) => void ctx.connection.sendNotification(SteerStepNotification.type, { genId: p.genId, step }),
    });
    return { genId: p.genId, ...r, stopped: "done" as const };
  } catch (e) {
    if (cancel.isCancellationRequested) return { genId: p.genId, steps: 0, promptTokens: 0, stopped: "cancelled" as const };
    throw userError(e, "Steering");
  } finally {
    if (s.liveCancel === mine) s.liveCancel = undefined;
  }
}

/** One vector over strengths x layers, each cell scored and continued a few tokens. */
async function sweep(s: SteerSession, p: ParamsOf<typeof SteerSweepRequest>, token: CancelToken) {
  const { ctx } = s;
  const progress = await ctx.connection.window.createWorkDoneProgress();
  progress.begin("Introspect: steering sweep", 0, "opening the model", true);
  const cancel = anyCancelled(token, progress.token);
  try {
    const l = await s.live();
    const v = l.get(p.vectorId);
    const ids = l.tok.encode(p.prompt).map((t) => t.id);
    if (ids.length === 0) throw new IntrospectError("bad-input", "The sweep needs a prompt: type one in the steering panel.");
    const words = p.score.kind === "words" ? wordTokenIds(l.tok, p.score.words) : [];
    if (p.score.kind === "words" && words.length === 0)
      throw new IntrospectError("bad-input", "None of the score words is a token of this model: give other words.");
    const cells = p.layers.length * p.alphas.length;
    let done = 0;
    const grid = await steeringSweep(
      l.factory(
        p.layers.map((layer) => ({ vector: atLayer(v, layer), alpha: 0 })),
        cancel,
      ),
      ids,
      v,
      {
        alphas: p.alphas,
        layers: p.layers,
        score: p.score.kind === "kl" ? { kind: "kl" } : { kind: "word-probability", ids: words },
        maxTokens: p.maxTokens,
        stopIds: stopIdsOf(l.model.resolved.folder, l.tok.eosTokenId),
        cancel,
        onCell: (c) => progress.report(Math.round((100 * ++done) / cells), `layer ${c.layer}, strength ${c.alpha}`),
      },
    );
    return {
      vector: v.name,
      layers: grid.layers,
      alphas: grid.alphas,
      scores: Array.from(grid.scores),
      texts: grid.tokens.map((t) => l.tok.decode(t, { skipSpecialTokens: true })),
      baseline: grid.baseline,
      scoreLabel: p.score.kind === "kl" ? "KL(steered||unsteered), nats" : `p(${p.score.words.join(", ")})`,
    };
  } catch (e) {
    throw userError(e, "Steering", cancel);
  } finally {
    progress.done();
  }
}

function siteKind(site: string | undefined): SiteKind {
  if (!site) return "hook_resid_post";
  const s = site.replace(/^blocks\.\d+\./, "");
  const kind = SHORT_KINDS[s] ?? (s.startsWith("hook_") ? (s as SiteKind) : undefined);
  if (!kind)
    throw new IntrospectError(
      "bad-input",
      `Steering needs a residual or branch-output site (${Object.keys(SHORT_KINDS).join(", ")}), not "${site}".`,
    );
  return kind;
}

// One probe: tokenise the text, run one forward pass with the needed sites captured, compute the
// logit lens layer by layer, and pack a ProbeResult. A ProbeSession keeps what follow-up requests
// from the panel need (another layer's neurons, another head's attention) so it can answer them.
import type { LoadedModel } from "../model/loaded";
import { unembedResidual } from "../model/lens";
import { lensTopK } from "../model/lensTopK";
import { loadTokenizer, tokensInRange, type TextTokenizer } from "../tokenizer";
import { IntrospectError, hookName, throwIfCancelled, type ActivationTensor, type CancelToken, type CharSpan, type Token } from "../types";
import type { AttentionData, AttentionRequest, LensChunk, NeuronData, NeuronRequest, ProbeResult } from "./result";
import { probeResultOf } from "./assemble";
import { ActivationCache, emptyLensLayer, type LensLayer, type RowRange } from "./cache";
import { fitContext } from "./contextWindow";
import { LENS_K, buildAttention, sitesFor, type ProbePlan } from "./registry";
import { logitLensLayer, nextTokenIds } from "./layerMetrics";
import { topNeurons } from "./neurons";
import type { ExpertIntervention } from "../experts/types";

export interface ProbeOptions {
  /** Tokenizer of the model; loaded from the model folder when absent. */
  tokenizer?: TextTokenizer;
  /** Refuse selections with more tokens than this (the introspect token budget). */
  maxTokens?: number;
  /** Layer of the neuron view (default: the middle layer) and how many neurons (default 32). */
  neuronLayer?: number;
  neuronCount?: number;
  /** Layer and head of the attention view (default 0, 0). */
  attention?: AttentionRequest;
  massiveFactor?: number;
  /** "topk" (default): softmax and top-k inside onnxruntime, in row chunks (model/lensTopK.ts);
   * "full": every layer's [tokens, vocab] logits unembedded and reduced here (the path before). */
  lensMode?: "topk" | "full";
  /** Selected tokens whose logit lens is computed with the probe: the first `lensTokens` (default
   * all). The rest waits for ProbeSession.lens (the panel asks for the columns it shows, then the
   * rest): at a 128 k vocabulary the lens of every layer and token costs several forward passes. */
  lensTokens?: number;
  /** "last" (default): the probe's passes unembed only the last position (they read captures only);
   * "all": every position too, as the probe did before (the bench's before/after). */
  logits?: "last" | "all";
  /** Expert interventions (mixture-of-experts models) applied to the probed pass and its follow-ups. */
  experts?: ExpertIntervention[];
  /** A sentence added to the result's notes (the caller's description of `experts`). */
  expertsNote?: string;
  cancel?: CancelToken;
}

const tokenizers = new WeakMap<LoadedModel, Promise<TextTokenizer>>();

function tokenizerOf(model: LoadedModel, given?: TextTokenizer): Promise<TextTokenizer> {
  if (given) return Promise.resolve(given);
  let t = tokenizers.get(model);
  if (!t) {
    t = loadTokenizer(model.resolved.folder);
    tokenizers.set(model, t);
  }
  return t;
}

/** Probes `text` and returns what the panel draws; `selection` is a UTF-16 range of `text`. */
export async function buildProbeResult(
  model: LoadedModel,
  text: string,
  selection: CharSpan,
  opts: ProbeOptions = {},
): Promise<ProbeResult> {
  return (await ProbeSession.start(model, text, selection, opts)).result;
}

/** Largest attention pattern (one layer, every head) a probe keeps for its follow-up requests. */
export const PATTERN_KEEP_BYTES = 256 * 2 ** 20;

export class ProbeSession {
  private constructor(
    readonly model: LoadedModel,
    readonly tokens: Token[],
    readonly selection: RowRange,
    readonly result: ProbeResult,
    private readonly cancel?: CancelToken,
    private readonly experts: ExpertIntervention[] = [],
    /** Each layer's resid_post over the selection, kept while some lens columns are not computed. */
    private lensResid?: ActivationTensor[],
    private readonly plan?: ProbePlan,
  ) {}

  /** Per selected column: 1 once its lens was computed (the first lensTokens, then each lens request). */
  private covered = new Uint8Array(0);

  /**
   * One layer's attention pattern (every head), as captured for the last attention request: the
   * panel asks for each head of a layer in turn, and one pass answers them all. A capture in flight
   * is shared by the requests that arrive meanwhile; a pattern over PATTERN_KEEP_BYTES is not kept.
   */
  private pattern?: { layer: number; tensor: Promise<ActivationTensor> };

  static async start(model: LoadedModel, text: string, selection: CharSpan, opts: ProbeOptions = {}): Promise<ProbeSession> {
    const t0 = performance.now();
    const tok = await tokenizerOf(model, opts.tokenizer);
    const all = tok.encode(text);
    const inSel = tokensInRange(all, selection);
    if (!inSel.length) throw new IntrospectError("bad-input", "The selection covers no tokens: select some text and probe again.");
    // Past the model's positions: a window that holds the selection, and a warning saying what was cut.
    const fit = fitContext(text, all, { start: inSel[0], end: inSel[inSel.length - 1] + 1 }, model.contextLength, model.info.id);
    const { tokens, selection: sel } = fit;
    const n = sel.end - sel.start;
    if (opts.maxTokens !== undefined && n > opts.maxTokens) {
      throw new IntrospectError(
        "too-many-tokens",
        `The selection has ${n} tokens, more than the budget of ${opts.maxTokens}: select less text or raise introspect.probe.maxTokens.`,
      );
    }
    const info = model.info;
    const L = info.numLayers;
    const has = (site: string) => info.sites.includes(site);
    const notes: string[] = [...info.notes];
    const missing = Array.from({ length: L }, (_, l) => hookName(l, "hook_resid_post")).filter((s) => !has(s));
    if (missing.length)
      throw new IntrospectError(
        "unsupported-model",
        `The residual stream of this model was not found (${missing[0]}), so it cannot be probed.`,
      );
    const ids = tokens.map((t) => t.id);
    const att = opts.attention ?? { layer: 0, head: 0 };
    const plan: ProbePlan = {
      numLayers: L,
      numHeads: info.numHeads ?? 0,
      numExperts: info.numExperts,
      expertsPerToken: info.expertsPerToken ?? 2,
      neuronLayer: Math.min(L - 1, Math.max(0, opts.neuronLayer ?? Math.floor(L / 2))),
      neuronCount: opts.neuronCount ?? 32,
      attention: { ...att, reason: attentionReason(info.notes) },
      massiveFactor: opts.massiveFactor ?? 100,
      decode: (id) => tok.tokenText(id),
      nextIds: nextTokenIds(ids, sel),
    };
    const capture = sitesFor(plan).filter(has);

    const tRun = performance.now();
    const experts = opts.experts ?? [];
    if (experts.length && opts.expertsNote) notes.push(opts.expertsNote);
    // The probe reads captures only (its lens unembeds the residuals it shows): the pass applies the
    // head to the last position alone, not to every token at a 128 k vocabulary.
    const { captures } = await model.run({ ids, capture, logits: opts.logits ?? "last", cancel: opts.cancel, ...expertRun(experts) });
    const forwardMs = performance.now() - tRun;

    const lensCols = Math.max(1, Math.min(n, Math.floor(opts.lensTokens ?? n)));
    const resid = Array.from({ length: L }, (_, l) => rows(captures.get(hookName(l, "hook_resid_post"))!, sel));
    const lens = await lensOf(model, resid, plan, { start: 0, end: lensCols }, notes, opts.lensMode, opts.cancel);
    if (!has(hookName(0, "hook_resid_pre")))
      notes.push(
        "The embedding (blocks.0.hook_resid_pre) was not found: layer 0's activation shift is measured from a zero vector and shows as n/a.",
      );
    const cache = ActivationCache.of(L, sel, ids, captures, lens);
    const result = probeResultOf(
      cache,
      plan,
      {
        id: info.id,
        architecture: info.architecture,
        numLayers: L,
        dModel: info.dModel,
        numHeads: info.numHeads,
        numExperts: info.numExperts,
      },
      tokens.map((t) => ({ id: t.id, text: t.text, piece: t.piece, span: t.span })),
      notes,
    );
    if (fit.cut) result.cut = fit.cut;
    const partial = lens !== undefined && lensCols < n;
    if (partial) result.logitLens.computed = [{ start: 0, end: lensCols }];
    result.timing = { forwardMs, analysisMs: performance.now() - t0 - forwardMs };
    const session = new ProbeSession(model, tokens, sel, result, opts.cancel, experts, partial ? resid : undefined, plan);
    session.covered = new Uint8Array(sel.end - sel.start);
    session.covered.fill(1, 0, lensCols);
    const pattern = captures.get(hookName(att.layer, "attn.hook_pattern"));
    if (pattern && pattern.data.byteLength <= PATTERN_KEEP_BYTES) session.pattern = { layer: att.layer, tensor: Promise.resolve(pattern) };
    return session;
  }

  /**
   * The logit lens of selected-token columns [start, end) at every layer, for a probe started with
   * fewer `lensTokens` than it selected; the panel merges it with mergeLensChunk. Columns already
   * computed are computed again (the answer is the same).
   */
  async lens(range: { start: number; end: number }, cancel?: CancelToken): Promise<LensChunk> {
    const n = this.selection.end - this.selection.start;
    const { start, end } = range;
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || end <= start)
      throw new IntrospectError("bad-input", `Logit-lens columns ${start}-${end} are outside this probe's ${n} selected tokens.`);
    if (!this.lensResid || !this.plan)
      throw new IntrospectError("bad-input", "This probe's logit lens is complete (or was not available): nothing more to compute.");
    const notes: string[] = [];
    const layers = await lensOf(this.model, this.lensResid, this.plan, range, notes, "topk", cancel ?? this.cancel);
    if (!layers) throw new IntrospectError("internal", notes[0] ?? "The logit lens failed.");
    const chunk = lensChunkOf(layers, range, this.plan);
    // Once every column has been asked for, the kept residuals go.
    this.covered.fill(1, start, end);
    if (this.covered.every((c) => c === 1)) this.lensDone();
    return chunk;
  }

  /** Drops the residuals kept for lens requests (the panel has every column). */
  lensDone(): void {
    this.lensResid = undefined;
  }

  /** Top-k neurons of another layer (one forward pass capturing that layer's MLP activations). */
  async neurons(req: NeuronRequest): Promise<NeuronData> {
    const site = hookName(this.layer(req.layer), "mlp.hook_post");
    if (!this.model.info.sites.includes(site))
      throw new IntrospectError("bad-input", `Layer ${req.layer} of this model exposes no MLP activations (${site}).`);
    const t = await this.capture(site);
    const top = topNeurons(t, this.selection, req.k ?? 32);
    return { layer: req.layer, neurons: top.neurons, values: { dims: [top.neurons.length, top.tokens], data: top.values }, dMlp: top.dMlp };
  }

  /** Attention of another layer or head. */
  async attention(req: AttentionRequest): Promise<AttentionData> {
    const site = hookName(this.layer(req.layer), "attn.hook_pattern");
    const numHeads = this.model.info.numHeads ?? 0;
    const rows = req.queries === "all" ? { start: 0, end: this.tokens.length } : this.selection;
    const a = { layer: req.layer, head: req.head };
    if (!this.model.info.sites.includes(site))
      return buildAttention({ ...a, reason: attentionReason(this.model.info.notes) }, numHeads, rows);
    return buildAttention({ ...a, tensor: await this.patternOf(req.layer, site) }, numHeads, rows);
  }

  private patternOf(layer: number, site: string): Promise<ActivationTensor> {
    if (this.pattern?.layer === layer) return this.pattern.tensor;
    const entry = { layer, tensor: this.capture(site) };
    this.pattern = entry;
    const forget = () => {
      if (this.pattern === entry) this.pattern = undefined;
    };
    entry.tensor.then((t) => t.data.byteLength > PATTERN_KEEP_BYTES && forget(), forget);
    return entry.tensor;
  }

  private layer(l: number): number {
    if (!Number.isInteger(l) || l < 0 || l >= this.model.info.numLayers)
      throw new IntrospectError("bad-input", `There is no layer ${l}: this model has ${this.model.info.numLayers}.`);
    return l;
  }

  private async capture(site: string): Promise<ActivationTensor> {
    const ids = this.tokens.map((t) => t.id);
    const { captures } = await this.model.run({ ids, capture: [site], logits: "last", cancel: this.cancel, ...expertRun(this.experts) });
    return captures.get(site)!;
  }
}

/**
 * The logit lens of every layer over selected-token columns `cols` (the residuals are the
 * selection's rows), reduced layer by layer (the [tokens, vocab] logits never pile up). Each layer's
 * LensLayer spans the whole selection; columns outside `cols` hold ids -1 and NaN. Undefined, with
 * a note, when this model's lens cannot be built.
 */
async function lensOf(
  model: LoadedModel,
  resid: ActivationTensor[],
  plan: ProbePlan,
  cols: RowRange,
  notes: string[],
  mode: ProbeOptions["lensMode"],
  cancel?: CancelToken,
): Promise<LensLayer[] | undefined> {
  const lens: LensLayer[] = [];
  const m = cols.end - cols.start;
  const next = plan.nextIds.subarray(cols.start, cols.end);
  try {
    for (let l = 0; l < plan.numLayers; l++) {
      throwIfCancelled(cancel);
      const r = rows(resid[l], cols);
      const part =
        mode === "full"
          ? logitLensLayer(await unembedResidual(model, r), { start: 0, end: m }, next, LENS_K)
          : await lensTopK(model, r, next, LENS_K, cancel);
      lens.push(m === resid[l].dims[0] ? part : widen(part, cols, resid[l].dims[0]));
    }
    return lens;
  } catch (e) {
    if (e instanceof IntrospectError && e.code === "cancelled") throw e;
    notes.push(`The logit lens is not available for this model: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

/** A lens layer over columns `cols` placed in one over `n` columns (ids -1, NaN elsewhere). */
function widen(part: LensLayer, cols: RowRange, n: number): LensLayer {
  const k = part.k;
  const out = emptyLensLayer(n, k);
  out.ids.fill(-1);
  out.nextProb.fill(NaN);
  out.entropy.fill(NaN);
  out.ids.set(part.ids, cols.start * k);
  out.probs.set(part.probs, cols.start * k);
  out.nextProb.set(part.nextProb, cols.start);
  out.entropy.set(part.entropy, cols.start);
  return out;
}

/** The lens layers' columns `range` as a chunk for the panel (LENS_K entries per cell, padded with -1). */
function lensChunkOf(layers: LensLayer[], range: RowRange, plan: ProbePlan): LensChunk {
  const L = layers.length;
  const m = range.end - range.start;
  const ids = new Int32Array(L * m * LENS_K).fill(-1);
  const probs = new Float32Array(L * m * LENS_K);
  const nextProb = new Float32Array(L * m);
  const entropy = new Float32Array(L * m);
  const vocab: Record<number, string> = {};
  layers.forEach((lens, l) => {
    for (let i = 0; i < m; i++) {
      const c = range.start + i;
      for (let j = 0; j < Math.min(LENS_K, lens.k); j++) {
        const id = lens.ids[c * lens.k + j];
        ids[(l * m + i) * LENS_K + j] = id;
        probs[(l * m + i) * LENS_K + j] = lens.probs[c * lens.k + j];
        if (id >= 0 && !(id in vocab)) vocab[id] = plan.decode(id);
      }
      nextProb[l * m + i] = lens.nextProb[c];
      entropy[l * m + i] = lens.entropy[c];
    }
  });
  return {
    start: range.start,
    end: range.end,
    k: LENS_K,
    ids: { dims: [L, m, LENS_K], data: ids },
    probs: { dims: [L, m, LENS_K], data: probs },
    nextProb: { dims: [L, m], data: nextProb },
    entropy: { dims: [L, m], data: entropy },
    vocab,
  };
}

/** The run fields of a pass with expert interventions (none: the plain pass). */
function expertRun(experts: ExpertIntervention[]): { experts?: ExpertIntervention[]; prepare?: { experts: number[] } } {
  return experts.length ? { experts, prepare: { experts: [...new Set(experts.map((x) => x.layer))] } } : {};
}

/** Rows [start, end) of a [seq, d] (or [1, seq, d]) tensor, as [end - start, d]. */
function rows(t: ActivationTensor, r: RowRange): ActivationTensor {
  const d = t.dims[t.dims.length - 1];
  return { dims: [r.end - r.start, d], data: t.data.subarray(r.start * d, r.end * d) };
}

function attentionReason(notes: string[]): string {
  const note = notes.find((n) => /attention/i.test(n));
  return note
    ? `Attention patterns are not available: ${note}`
    : "Attention patterns are not available: this graph's attention is fused into one operator, so its weights are never materialised.";
}

/**
 * The probes a host keeps for follow-up requests, newest first; older ones are dropped (their
 * captures are not kept, only tokens and ids, but the panel only ever asks about recent probes).
 */
export class ProbeSessions {
  private readonly sessions = new Map<string, ProbeSession>();
  private next = 1;

  constructor(private readonly keep = 4) {}

  async probe(model: LoadedModel, text: string, selection: CharSpan, opts: ProbeOptions = {}): Promise<ProbeResult> {
    const s = await ProbeSession.start(model, text, selection, opts);
    const id = `probe-${this.next++}`;
    s.result.id = id;
    this.sessions.set(id, s);
    while (this.sessions.size > this.keep) this.sessions.delete(this.sessions.keys().next().value as string);
    return s.result;
  }

  get(id: string, model: LoadedModel): ProbeSession {
    const s = this.sessions.get(id);
    if (!s || s.model !== model)
      throw new IntrospectError(
        "bad-input",
        "This probe is no longer available (the model changed or it is too old): probe the selection again.",
      );
    return s;
  }

  clear(): void {
    this.sessions.clear();
  }
}

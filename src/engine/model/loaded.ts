// An open model: its architecture map, its edited sessions, and forward passes with capture,
// steering and patching.
import * as fs from "fs";
import * as ort from "onnxruntime-node";
import type { ActivationTensor, HookName, ModelInfo } from "../types";
import { IntrospectError, throwIfCancelled } from "../types";
import type { ArchMap } from "../arch/archMap";
import { SINGLE_ROW_CONTINUATION } from "../arch/patterns";
import type { GraphIndex } from "../onnx/graph";
import { elemType, shapeOf, type ScannedModel } from "../onnx/modelFile";
import type { FileBytes } from "../onnx/wire";
import { planEdit, zeroBelowInput, type EditSet } from "../surgery/surgery";
import { patchFeeds, steerFeeds } from "./interventionFeeds";
import { materialiseEdit } from "./editCache";
import type { ResolvedModel } from "./resolve";
import { float32Tensor, int64Tensor, toActivation, zerosTensor } from "./tensors";
import { chooseProvider, createWithProvider, type ProviderState } from "./provider";
import { batchRow, joinRows, squeeze } from "./rows";
import type { DecodeResult, EditedSession, KvCache, RunRequest, RunResult, SessionOptions, SessionVariant } from "./runTypes";
import { expertRouting } from "../experts/routing";
import { checkInterventions, expertFeeds, topKRefusal } from "../experts/interventions";

import { expandSites, loadError } from "./loadChecks";

export * from "./runTypes";
export { expandSites, checkTokenizerFits, loadError } from "./loadChecks";

interface PastInput {
  name: string;
  elemType: number;
  heads: number;
  headDim: number;
}

export class LoadedModel {
  private sessions = new Map<string, Promise<EditedSession>>();
  readonly pastInputs: PastInput[];
  readonly hasPositionIds: boolean;
  /** Several new tokens after a non-empty past must be fed one sequence at a time (GroupQueryAttention). */
  readonly singleRowContinuation: boolean;
  /** Positions the model has (config.json max_position_embeddings / n_positions / ..., genai_config.json
   * context_length), if stated. */
  readonly contextLength?: number;
  /** Files written for edited graphs during this session (for tests and diagnostics). */
  readonly writtenFiles: string[] = [];
  /** The execution provider asked for and the one in use (CPU after a fallback, with the sentence why). */
  readonly provider: ProviderState;

  constructor(
    readonly info: ModelInfo,
    readonly map: ArchMap,
    readonly resolved: ResolvedModel,
    readonly scanned: ScannedModel,
    readonly graph: GraphIndex,
    private readonly src: FileBytes,
    private readonly fp: string,
    readonly options: SessionOptions,
  ) {
    const cfg = resolved.config;
    const gc = resolved.genai ?? {};
    // Past shapes often leave heads and head size symbolic (onnxruntime-genai: "kv_cache_dim"): config.json, then genai_config.json.
    const heads = Number(cfg.num_key_value_heads ?? cfg.num_attention_heads ?? cfg.n_head ?? gc.num_key_value_heads ?? 0);
    const qHeads = Number(cfg.num_attention_heads ?? cfg.n_head ?? gc.num_attention_heads ?? 0);
    const hd =
      Number(cfg.head_dim ?? 0) ||
      (qHeads && (cfg.hidden_size ?? cfg.n_embd) !== undefined ? Number(cfg.hidden_size ?? cfg.n_embd) / qHeads : 0) ||
      Number(gc.head_size ?? 0) ||
      (qHeads ? Number(gc.hidden_size ?? 0) / qHeads : 0);
    this.pastInputs = scanned.inputs
      .filter((i) => i.name.startsWith("past_key_values") || i.name.startsWith("past_key") || i.name.startsWith("past_value"))
      .map((i) => {
        const s = shapeOf(i) ?? [];
        return {
          name: i.name,
          elemType: elemType(i) || 1,
          heads: typeof s[1] === "number" ? s[1] : heads,
          headDim: typeof s[3] === "number" ? s[3] : hd,
        };
      });
    this.hasPositionIds = scanned.inputs.some((i) => i.name === "position_ids");
    this.singleRowContinuation = scanned.nodes.some((n) => SINGLE_ROW_CONTINUATION.has(n.opType));
    const ctx = ["max_position_embeddings", "n_positions", "n_ctx", "max_seq_len", "seq_length"]
      .map((k) => cfg[k])
      .find((v) => typeof v === "number" && v > 0);
    this.contextLength = (ctx as number | undefined) ?? gc.context_length;
    this.provider = chooseProvider(options.executionProvider);
  }

  /** A session on `file` with this model's options and execution provider (every session of the model goes through here). */
  createSession(file: string, externalData?: ort.InferenceSession.SessionOptions["externalData"]): Promise<ort.InferenceSession> {
    return createWithProvider(
      file,
      {
        logSeverityLevel: 3,
        graphOptimizationLevel: this.options.graphOptimization ?? "all",
        ...(this.options.intraOpThreads ? { intraOpNumThreads: this.options.intraOpThreads } : {}),
        ...(externalData ? { externalData } : {}),
        ...sessionExtra(this.options),
      },
      this.provider,
    );
  }

  /** The session whose graph has every mapped site as an output plus the given edit inputs. */
  async session(steer: HookName[] = [], patch: HookName[] = [], variant: SessionVariant = {}): Promise<EditedSession> {
    const capture = variant.outputs ? [...new Set(variant.outputs)].sort() : [...this.map.sites.keys()];
    const edit: EditSet = { capture, steer: [...new Set(steer)].sort(), patch: [...new Set(patch)].sort() };
    if (variant.lastLogits) edit.lastLogits = true;
    if (variant.zeroBelow?.length) edit.zeroBelow = [...new Set(variant.zeroBelow)].sort();
    if (variant.experts?.length) edit.experts = [...new Set(variant.experts)].sort((a, b) => a - b);
    const key = JSON.stringify([
      edit.steer,
      edit.patch,
      ...(variant.lastLogits ? ["last"] : []),
      ...(edit.zeroBelow ? [edit.zeroBelow] : []),
      ...(edit.experts ? [["experts", ...edit.experts]] : []),
      ...(variant.outputs ? [["outputs", ...capture]] : []),
    ]);
    let s = this.sessions.get(key);
    if (s) {
      this.sessions.delete(key); // LRU: re-insert as newest
      this.sessions.set(key, s);
      return s;
    }
    const plan = planEdit(this.graph, this.map, edit);
    const file = materialiseEdit(
      this.scanned,
      this.src,
      plan,
      JSON.stringify(edit),
      this.fp,
      this.options.cacheDir,
      undefined,
      this.options.editLocation === "cache",
      this.options.splitWeightsAbove,
    );
    if (file.written) this.writtenFiles.push(file.path);
    s = this.createSession(file.path, file.externalData).then((session) => ({ session, outputs: plan.outputs }));
    this.sessions.set(key, s);
    while (this.sessions.size > (this.options.maxSessions ?? 3)) {
      const [oldKey, old] = this.sessions.entries().next().value as [string, Promise<EditedSession>];
      this.sessions.delete(oldKey);
      void old
        .then((x) => {
          x.evicted = true;
          return x.busy ? undefined : x.session.release();
        })
        .catch(() => undefined);
    }
    try {
      return await s;
    } catch (e) {
      this.sessions.delete(key);
      throw loadError(this.resolved, e as Error);
    }
  }

  /**
   * Refuses, with a sentence, a pass the model cannot take: more positions than it has, or attention
   * scores that would not fit in memory (batch x heads x queries x keys x 4 bytes, which onnxruntime
   * allocates for an unfused attention whatever is captured).
   */
  checkBudget(batch: number, tokens: number, past: number): void {
    const total = past + tokens;
    if (this.contextLength && total > this.contextLength)
      throw new IntrospectError(
        "too-many-tokens",
        past
          ? `Generation reached ${this.info.id}'s context of ${this.contextLength} positions (config.json): it cannot continue past it.`
          : `The input has ${total} tokens but ${this.info.id} has ${this.contextLength} positions (config.json max_position_embeddings): select or probe less text.`,
      );
    const heads = Number(this.resolved.config.num_attention_heads ?? this.resolved.config.n_head ?? 0) || 1;
    const bytes = batch * heads * tokens * total * 4;
    const limit = Number(process.env.INTROSPECT_MAX_ATTENTION_BYTES) || 8 * 2 ** 30;
    if (bytes > limit)
      throw new IntrospectError(
        "too-many-tokens",
        `${total} tokens need ${(bytes / 2 ** 30).toFixed(1)} GiB for one layer's attention scores (limit ${(limit / 2 ** 30).toFixed(1)} GiB): select less text.`,
      );
  }

  /**
   * Bytes onnxruntime would hold for every mapped site exposed as an output of a pass of `batch` rows
   * of `tokens` new tokens after `past` (patterns heads x tokens x keys, MLP sites the MLP's width,
   * the rest the residual's width; float32). An estimate for choosing sessions, not an allocation.
   */
  exposedBytes(batch: number, tokens: number, past: number): number {
    const cfg = this.resolved.config;
    const d = this.info.dModel || 1;
    const dMlp = Number(cfg.intermediate_size ?? cfg.n_inner ?? cfg.ffn_dim ?? 0) || 4 * d;
    const heads = this.info.numHeads || Number(cfg.num_attention_heads ?? cfg.n_head ?? 0) || 1;
    let perToken = 0;
    for (const site of this.map.sites.keys()) {
      if (site.endsWith("hook_pattern") || site.endsWith("hook_attn_scores")) perToken += heads * (past + tokens);
      else if (site.includes("mlp.hook_") || site.includes("hook_gate") || site.includes("hook_up")) perToken += dMlp;
      else perToken += d;
    }
    return batch * tokens * perToken * 4;
  }

  /** The session variant of a pass capturing `capture`: every site exposed while that fits the output budget, else only `capture`. */
  private outputsFor(capture: HookName[], batch: number, tokens: number, past: number): Pick<SessionVariant, "outputs"> {
    const budget = this.options.outputBudgetBytes ?? (Number(process.env.INTROSPECT_OUTPUT_BUDGET_BYTES) || 512 * 2 ** 20);
    return this.exposedBytes(batch, tokens, past) > budget ? { outputs: [...new Set(capture)].sort() } : {};
  }

  /** Expands short forms (`resid_post` = every layer) and checks names. */
  expandSites(list: string[]): HookName[] {
    return expandSites(list, this.info);
  }

  /** Full-sequence forward pass. */
  async run(req: RunRequest): Promise<RunResult> {
    throwIfCancelled(req.cancel);
    const single = !Array.isArray(req.ids[0]);
    const rows = (single ? [req.ids as number[]] : (req.ids as number[][])).map((r) => [...r]);
    if (rows.length === 0 || rows.some((r) => r.length === 0))
      throw new IntrospectError("bad-input", "Nothing to run: the prompt has no tokens.");
    const S = Math.max(...rows.map((r) => r.length));
    const B = rows.length;
    this.checkBudget(B, S, 0);
    const ids = new Array<number>(B * S).fill(0);
    const mask = new Array<number>(B * S).fill(0);
    rows.forEach((r, b) => r.forEach((t, i) => ((ids[b * S + i] = t), (mask[b * S + i] = 1))));
    const feeds: Record<string, ort.Tensor> = { input_ids: int64Tensor(ids, [B, S]) };
    if (this.scanned.inputs.some((i) => i.name === "attention_mask")) feeds.attention_mask = int64Tensor(mask, [B, S]);
    if (this.hasPositionIds)
      feeds.position_ids = int64Tensor(
        Array.from({ length: B * S }, (_, i) => i % S),
        [B, S],
      );
    for (const p of this.pastInputs) feeds[p.name] = zerosTensor(p.elemType, [B, p.heads, 0, p.headDim]);
    const out = await this.forward(feeds, req, B, S);
    if (single) {
      out.logits = squeeze(out.logits);
      for (const [k, v] of out.captures) out.captures.set(k, squeeze(v));
    }
    return out;
  }

  /** One incremental step: feeds `ids` (new tokens per row) after `cache` (none = empty). */
  async decodeStep(ids: number[][], cache?: KvCache, opts: Omit<RunRequest, "ids"> = {}): Promise<DecodeResult> {
    if (!this.info.hasKvCache)
      throw new IntrospectError("bad-input", "This model has no past_key_values inputs: recompute the full sequence with run() instead.");
    throwIfCancelled(opts.cancel);
    const B = ids.length;
    const n = ids[0].length;
    const past = cache?.length ?? 0;
    this.checkBudget(B, n, past);
    if (cache && past > 0 && n > 1 && B > 1 && this.singleRowContinuation) return this.decodeRows(ids, cache, opts);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: int64Tensor(ids.flat(), [B, n]),
      attention_mask: int64Tensor(new Array(B * (past + n)).fill(1), [B, past + n]),
    };
    if (this.hasPositionIds)
      feeds.position_ids = int64Tensor(
        Array.from({ length: B * n }, (_, i) => past + (i % n)),
        [B, n],
      );
    for (const p of this.pastInputs) feeds[p.name] = cache?.tensors.get(p.name) ?? zerosTensor(p.elemType, [B, p.heads, 0, p.headDim]);
    const presentNames = this.pastInputs.map((p) => p.name.replace(/^past_key_values/, "present").replace(/^past_/, "present_"));
    const r = await this.forward(feeds, opts, B, n, presentNames, past);
    const tensors = new Map<string, ort.Tensor>();
    this.pastInputs.forEach((p, i) => tensors.set(p.name, r.raw[presentNames[i]]));
    return { logits: r.logits, captures: r.captures, cache: { length: past + n, tensors } };
  }

  /** decodeStep one row at a time (attention that continues several tokens only for one row), joined on the batch axis. */
  private async decodeRows(ids: number[][], cache: KvCache, opts: Omit<RunRequest, "ids">): Promise<DecodeResult> {
    const parts: DecodeResult[] = [];
    for (let b = 0; b < ids.length; b++) {
      const tensors = new Map([...cache.tensors].map(([k, t]) => [k, batchRow(t, b)]));
      parts.push(await this.decodeStep([ids[b]], { length: cache.length, tensors }, opts));
    }
    const captures = new Map<HookName, ActivationTensor>();
    for (const k of parts[0].captures.keys()) captures.set(k, joinRows(parts.map((p) => p.captures.get(k)!)));
    const tensors = new Map<string, ort.Tensor>();
    for (const k of parts[0].cache.tensors.keys()) {
      const ts = parts.map((p) => p.cache.tensors.get(k)!);
      const joined = joinRows(ts.map((t) => ({ dims: [...t.dims], data: t.data as Float32Array })));
      tensors.set(k, new ort.Tensor(ts[0].type as "float32", joined.data, joined.dims));
    }
    return { logits: joinRows(parts.map((p) => p.logits)), captures, cache: { length: parts[0].cache.length, tensors } };
  }

  private async forward(
    feeds: Record<string, ort.Tensor>,
    req: Omit<RunRequest, "ids">,
    B: number,
    S: number,
    extraFetch: string[] = [],
    past = 0,
  ) {
    const steer = req.steer ?? [];
    const patch = req.patch ?? [];
    const steerSites = [...steer.map((s) => s.site), ...(req.prepare?.steer ?? [])];
    const patchSites = [...patch.map((p) => p.site), ...(req.prepare?.patch ?? [])];
    for (const s of [...steerSites, ...patchSites, ...(req.capture ?? [])]) {
      if (!this.map.sites.has(s))
        throw new IntrospectError(
          "bad-input",
          `The site ${s} does not exist in this model. Available: ${[...this.map.sites.keys()].slice(0, 6).join(", ")}...`,
        );
    }
    const zero = req.zeroBelow ?? [];
    for (const z of zero)
      if (!this.map.sites.has(z.site)) throw new IntrospectError("bad-input", `The site ${z.site} does not exist in this model.`);
    const expertList = req.experts ?? [];
    checkInterventions(this.graph, this.map, this.info.id, expertList);
    const expertLayers = [...new Set([...expertList.map((x) => x.layer), ...(req.prepare?.experts ?? [])])];
    const edited = await this.session(steerSites, patchSites, {
      ...(zero.length ? { zeroBelow: zero.map((z) => z.site) } : {}),
      ...(expertLayers.length ? { experts: expertLayers } : {}),
      ...(req.logits === "last" ? { lastLogits: true } : {}),
      ...this.outputsFor(req.capture ?? [], B, S, past),
    });
    if (expertLayers.length) {
      const routings = expertRouting(this.graph, this.map).filter((r) => expertLayers.includes(r.layer));
      Object.assign(feeds, expertFeeds(routings, expertList, B, S, past));
    }
    for (const z of zero) feeds[zeroBelowInput(z.site)] = float32Tensor(Float32Array.of(z.threshold), [1]);
    const { session, outputs } = edited;
    Object.assign(feeds, steerFeeds(steerSites, steer, this.info.dModel), patchFeeds(patchSites, patch));
    const capture = req.capture ?? [];
    const fetch = [this.map.logitsOutput, ...new Set(capture.map((c) => outputs.get(c)!)), ...extraFetch];
    throwIfCancelled(req.cancel);
    let raw: ort.InferenceSession.OnnxValueMapType;
    edited.busy = (edited.busy ?? 0) + 1;
    try {
      raw = await session.run(feeds, [...new Set(fetch)]);
    } catch (e) {
      const refused = topKRefusal(this.graph, this.map, this.info.id, expertList);
      if (refused) throw refused;
      throw new IntrospectError("internal", `The forward pass failed in onnxruntime: ${(e as Error).message.split("\n")[0]}`);
    } finally {
      edited.busy--;
      if (edited.evicted && edited.busy === 0) void edited.session.release().catch(() => undefined);
    }
    const captures = new Map<HookName, ActivationTensor>();
    for (const c of capture) captures.set(c, toActivation(raw[outputs.get(c)!] as ort.Tensor));
    return { logits: toActivation(raw[this.map.logitsOutput] as ort.Tensor), captures, raw: raw as Record<string, ort.Tensor> };
  }

  /** Closes sessions and the file handle. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await s.then((x) => x.session.release()).catch(() => undefined);
    this.src.close();
  }

  /** Removes edited graphs this model wrote (tests use this to leave folders clean). */
  removeWrittenFiles(): void {
    for (const f of this.writtenFiles) fs.rmSync(f, { force: true });
  }

  /** Internal access for the logit lens. */
  get bytes(): FileBytes {
    return this.src;
  }
  get fingerprint(): string {
    return this.fp;
  }
}

/** onnxruntime's string-keyed session entries for the options that have no typed field. */
export function sessionExtra(o: SessionOptions): { extra?: Record<string, unknown> } {
  const session: Record<string, unknown> = {};
  if (o.prepackWeights === false) session.disable_prepacking = "1";
  // Not onnxruntime's default (spinning): every session has its own intra-op threads, and the
  // engine runs several in turn (a decoder's session, then a layer cut's; a forward, then the
  // lens), so the threads of the session that just finished spin on the cores the next one needs.
  session.intra_op = { allow_spinning: o.allowSpinning === true ? "1" : "0" };
  return Object.keys(session).length ? { extra: { session } } : {};
}

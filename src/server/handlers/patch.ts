// introspect/patchPrepare, introspect/patchRun (+ introspect/patchProgress), introspect/patchCell:
// activation patching for the patching panel. The sweep is the engine's (patchingSweep over
// modelPatchRunner); this file resolves answers and sites, streams the cells as they finish and
// answers clicks on cells. The pure functions are exported for tests.
import type { LoadedModel } from "../../engine";
import { baseline, defaultAnswers, modelPatchRunner, patchingSweep, alignPositions, type PatchRunner } from "../../engine";
import { topK } from "../../engine";
import { answerTokens } from "../../engine";
import { loadTokenizer, type TextTokenizer } from "../../engine";
import { IntrospectError, type CancelToken, type HookName } from "../../engine";
import { PatchCellRequest, PatchPrepareRequest, PatchProgressNotification, PatchRunRequest } from "../../protocol/lsp";
import {
  PATCH_SITES,
  type PatchAnswer,
  type PatchCellParams,
  type PatchCellResult,
  type PatchExperiment,
  type PatchGrid,
  type PatchHeader,
  type PatchPreview,
  type PatchProgressData,
  type PatchRun,
  type PatchSiteKind,
} from "../../protocol/patchData";
import { toWire } from "../../protocol/wire";
import type { HostContext } from "../context";
import { userError } from "./errors";

const tokenizers = new WeakMap<LoadedModel, Promise<TextTokenizer>>();
export function tokenizerOf(model: LoadedModel): Promise<TextTokenizer> {
  let t = tokenizers.get(model);
  if (!t) tokenizers.set(model, (t = loadTokenizer(model.resolved.folder)));
  return t;
}

const SITES_NOTE =
  "Single attention heads: “Patch each head” under the grids patches one head's attn.hook_z slice at a time (where the graph has it). " +
  "On mixture-of-experts models `router_logits` patches a layer's routing decision; one expert's output alone is not offered (the experts' outputs are summed inside the layer).";
/** Minimum time between progress notifications; the last batch is always sent. */
const PROGRESS_EVERY_MS = 80;

/** A runner whose captures are remembered, so the defaults, the baselines and the sweep share two forward passes. */
function memoRunner(model: LoadedModel, names: HookName[]): PatchRunner {
  const inner = modelPatchRunner(model, names);
  const memo = new Map<string, ReturnType<PatchRunner["capture"]>>();
  return {
    ...inner,
    capture(ids, sites) {
      const key = `${ids.join(",")}|${sites.join(",")}`;
      let hit = memo.get(key);
      if (!hit) memo.set(key, (hit = inner.capture(ids, sites)));
      return hit;
    },
    runPatched: (ids, rows, patches) => inner.runPatched(ids, rows, patches),
  };
}

/** Site kinds present at every layer of this model. */
export function patchableSites(model: LoadedModel): PatchSiteKind[] {
  const have = new Set(model.info.sites);
  return PATCH_SITES.map((s) => s.kind).filter((k) =>
    Array.from({ length: model.info.numLayers }, (_, l) => `blocks.${l}.${k}`).every((n) => have.has(n)),
  );
}

export function encode(tok: TextTokenizer, text: string, label: string): number[] {
  const ids = tok.encode(text).map((t) => t.id);
  if (!text.trim() || ids.length === 0) throw new IntrospectError("bad-input", `The ${label} prompt is empty: type or select some text.`);
  return ids;
}

/** An answer as typed (" Mary", or #1234), read as the next token after `prompt`. */
export function resolveAnswer(tok: TextTokenizer, prompt: string, given: string, label: string): number {
  const m = /^#(\d+)$/.exec(given.trim());
  if (m) {
    const id = Number(m[1]);
    if (id >= tok.vocabSize)
      throw new IntrospectError("bad-input", `The ${label} ${given} is outside this vocabulary (0-${tok.vocabSize - 1}).`);
    return id;
  }
  if (given === "")
    throw new IntrospectError(
      "bad-input",
      `The ${label} is empty: type a token such as " Mary", or leave it out to use the model's top prediction.`,
    );
  const { tokens, mergedWithPrompt } = answerTokens((t) => tok.encode(t), prompt, given);
  if (tokens.length === 1 && !mergedWithPrompt) return tokens[0].id;
  if (mergedWithPrompt)
    throw new IntrospectError(
      "bad-input",
      `The ${label} ${JSON.stringify(given)} merges with the end of the prompt into one token: start it with a space, or give a token id as #1234.`,
    );
  throw new IntrospectError(
    "bad-input",
    `The ${label} ${JSON.stringify(given)} is ${tokens.length} tokens (${tokens.map((t) => JSON.stringify(t.text)).join(" ")}); patching compares single next tokens: give one token (for example ${JSON.stringify(tokens[0]?.text ?? " Mary")}), or an id as #1234.`,
  );
}

interface Resolved {
  preview: PatchPreview;
  cleanIds: number[];
  corruptIds: number[];
  layers: number[];
  runner: PatchRunner;
  names: HookName[];
  sites: PatchSiteKind[];
  cleanLogits: Float32Array;
  corruptLogits: Float32Array;
}

/** Tokenises, checks the sites, runs the clean and corrupted prompts once (captures kept for the sweep) and picks the answers. */
async function resolve(model: LoadedModel, exp: PatchExperiment, cancel?: CancelToken, forPreview = false): Promise<Resolved> {
  const tok = await tokenizerOf(model);
  const cleanIds = encode(tok, exp.clean, "clean");
  const corruptIds = encode(tok, exp.corrupt, "corrupted");
  const available = patchableSites(model);
  const sites = exp.sites.length ? [...new Set(exp.sites)] : available.slice(0, 3);
  const missing = sites.filter((s) => !available.includes(s));
  if (missing.length)
    throw new IntrospectError(
      "bad-input",
      `This model's graph does not expose ${missing.join(", ")} at every layer; choose from ${available.join(", ")}.`,
    );
  const L = model.info.numLayers;
  const layers = exp.layers?.length ? [...new Set(exp.layers)].sort((a, b) => a - b) : Array.from({ length: L }, (_, i) => i);
  for (const l of layers)
    if (!Number.isInteger(l) || l < 0 || l >= L)
      throw new IntrospectError("bad-input", `Layer ${l} does not exist; the model has layers 0-${L - 1}.`);
  const al = alignPositions(cleanIds.length, corruptIds.length, exp.positions?.length ? exp.positions : undefined);
  const names = sites.flatMap((s) => layers.map((l) => `blocks.${l}.${s}`));
  const runner = memoRunner(model, names);
  const clean = await runner.capture(cleanIds, names);
  if (cancel?.isCancellationRequested) throw new IntrospectError("cancelled", "Cancelled.");
  const corrupt = await runner.capture(corruptIds, names);
  const top = defaultAnswers(clean.logits, corrupt.logits);
  const pOf = (logits: Float32Array, id: number) => baseline(logits, id, id === 0 ? 1 : 0).pCorrect;
  const answer = (given: string | undefined, prompt: string, fallback: number, logits: Float32Array, label: string): PatchAnswer => {
    const id = given !== undefined ? resolveAnswer(tok, prompt, given, label) : fallback;
    return { id, text: tok.tokenText(id), p: pOf(logits, id), given: given !== undefined };
  };
  const correct = answer(exp.answer, exp.clean, top.correct, clean.logits, "correct answer");
  const wrong = answer(exp.wrong, exp.corrupt, top.wrong, corrupt.logits, "wrong answer");
  // A preview may show equal defaults: the user is about to choose the answers.
  if (correct.id === wrong.id && !(forPreview && !correct.given && !wrong.given)) {
    throw new IntrospectError(
      "bad-input",
      correct.given || wrong.given
        ? `The correct and the wrong answer are the same token (${JSON.stringify(correct.text)}): choose two different answers.`
        : `Both prompts make the model predict ${JSON.stringify(correct.text)}, so there is no difference to restore: change the corrupted prompt, or give the correct and wrong answers yourself.`,
    );
  }
  const toks = (ids: number[]) => ids.map((id) => ({ id, text: tok.tokenText(id) }));
  const preview: PatchPreview = {
    modelId: model.info.id,
    numLayers: L,
    cleanTokens: toks(cleanIds),
    corruptTokens: toks(corruptIds),
    correct,
    wrong,
    sites: available,
    sitesNote: SITES_NOTE,
    positions: al.corruptPositions,
    cleanPositions: al.cleanPositions,
    note: al.note,
  };
  return { preview, cleanIds, corruptIds, layers, runner, names, sites, cleanLogits: clean.logits, corruptLogits: corrupt.logits };
}

export async function preparePatch(model: LoadedModel, exp: PatchExperiment): Promise<PatchPreview> {
  return (await resolve(model, exp, undefined, true)).preview;
}

export interface RunHooks {
  header?(h: PatchHeader): void;
  progress?(p: PatchProgressData): void;
  cancel?: CancelToken;
}

/** The whole experiment: header first, then cells as batches finish, then the engine's final grids. */
export async function runPatchExperiment(model: LoadedModel, exp: PatchExperiment, runId: number, hooks: RunHooks = {}): Promise<PatchRun> {
  const started = Date.now();
  const r = await resolve(model, exp, hooks.cancel);
  const { correct, wrong } = r.preview;
  const P = r.preview.positions.length;
  const total = r.sites.length * r.layers.length * P;
  const header: PatchHeader = {
    ...r.preview,
    runId,
    experiment: exp,
    runSites: r.sites,
    layers: r.layers,
    baselines: { clean: baseline(r.cleanLogits, correct.id, wrong.id), corrupt: baseline(r.corruptLogits, correct.id, wrong.id) },
    total,
    startedAt: new Date(started).toISOString(),
  };
  hooks.header?.(header);
  const grids: Partial<Record<PatchSiteKind, PatchGrid>> = {};
  const blank = () => new Float32Array(r.layers.length * P).fill(NaN);
  for (const s of r.sites) grids[s] = { normalised: blank(), logitDiff: blank(), pCorrect: blank() };
  const touched = new Set<PatchSiteKind>();
  let last = 0;
  const res = await patchingSweep(
    r.runner,
    {
      cleanIds: r.cleanIds,
      corruptIds: r.corruptIds,
      correct: correct.id,
      wrong: wrong.id,
      sites: r.sites,
      layers: r.layers,
      positions: exp.positions?.length ? exp.positions : undefined,
    },
    {
      batchSize: exp.batchSize,
      extra: ["logit-diff", "p-correct"],
      cancel: hooks.cancel,
      onProgress: (p) => {
        for (const c of p.cells) {
          const g = grids[c.site as PatchSiteKind]!;
          const k = r.layers.indexOf(c.layer) * P + r.preview.positions.indexOf(c.position);
          g.normalised[k] = c.normalised;
          g.logitDiff[k] = c.logitDiff;
          g.pCorrect[k] = c.pCorrect;
          touched.add(c.site as PatchSiteKind);
        }
        const now = Date.now();
        if (hooks.progress && (now - last >= PROGRESS_EVERY_MS || p.done === p.total)) {
          last = now;
          const changed: PatchProgressData["grids"] = {};
          for (const s of touched) changed[s] = grids[s];
          touched.clear();
          // The grid total counts skipped cells too, so "done" is measured against it.
          hooks.progress({ runId, done: p.done, total, grids: changed });
        }
      },
    },
  );
  const final: PatchRun["grids"] = {};
  for (const s of r.sites) {
    const g = res.grids[s]!;
    final[s] = { normalised: g.normalised, logitDiff: g.logitDiff ?? grids[s]!.logitDiff, pCorrect: g.pCorrect ?? grids[s]!.pCorrect };
  }
  return {
    header,
    grids: final,
    done: total,
    status: {
      kind: "done",
      forwardPasses: res.forwardPasses,
      cellsRun: res.cellsRun,
      cellsSkipped: res.cellsSkipped,
      ms: Date.now() - started,
    },
  };
}

/** One cell's patched run: logit difference, p(correct) and the top next tokens. */
export async function patchCellTop(model: LoadedModel, p: PatchCellParams): Promise<PatchCellResult> {
  const tok = await tokenizerOf(model);
  const cleanIds = encode(tok, p.experiment.clean, "clean");
  const corruptIds = encode(tok, p.experiment.corrupt, "corrupted");
  const name = `blocks.${p.layer}.${p.site}`;
  if (!model.info.sites.includes(name)) throw new IntrospectError("bad-input", `This model has no ${name} site.`);
  const al = alignPositions(cleanIds.length, corruptIds.length, [p.position]);
  // The run's site set when it is known keeps the edited session of the sweep (no new graph per click).
  const runner = cellRunner(model, p.experiment, name);
  const clean = await runner.capture(cleanIds, [name]);
  const d = runner.width?.(name) ?? model.info.dModel;
  const T = corruptIds.length;
  const values = new Float32Array(T * d);
  const src = clean.acts.get(name)!;
  values.set(src.subarray(al.cleanPositions[0] * d, (al.cleanPositions[0] + 1) * d), al.corruptPositions[0] * d);
  const mask = new Uint8Array(T);
  mask[al.corruptPositions[0]] = 1;
  const logits = await runner.runPatched(corruptIds, 1, new Map([[name, { mask, values }]]));
  const b = baseline(logits, p.correct, p.wrong);
  return {
    site: p.site,
    layer: p.layer,
    position: p.position,
    logitDiff: b.logitDiff,
    pCorrect: b.pCorrect,
    top: topK(logits, p.k ?? 10).map((t) => ({ ...t, text: tok.tokenText(t.id) })),
  };
}

const cellRunners = new WeakMap<LoadedModel, { key: string; runner: PatchRunner }>();
function cellRunner(model: LoadedModel, exp: PatchExperiment, name: HookName): PatchRunner {
  const L = model.info.numLayers;
  const names = exp.sites.flatMap((s) =>
    (exp.layers?.length ? exp.layers : Array.from({ length: L }, (_, i) => i)).map((l) => `blocks.${l}.${s}`),
  );
  if (!names.includes(name)) names.push(name);
  const key = `${exp.clean}\u0000${exp.corrupt}\u0000${names.join(",")}`;
  const hit = cellRunners.get(model);
  if (hit?.key === key) return hit.runner;
  const runner = memoRunner(model, names);
  cellRunners.set(model, { key, runner });
  return runner;
}

// ---- LSP wiring ------------------------------------------------------------------------------

export function register(ctx: HostContext): void {
  // The host's shared engine model (also used by probe, steering and the prompt-file features).
  const engineModel = (): Promise<LoadedModel> => ctx.engine.get("run patching again");

  ctx.connection.onRequest(PatchPrepareRequest.type, async (exp, token) => {
    try {
      return await preparePatch(await engineModel(), exp);
    } catch (e) {
      throw userError(e, "Patching", token);
    }
  });

  ctx.connection.onRequest(PatchRunRequest.type, async ({ runId, experiment }, token) => {
    try {
      const model = await engineModel();
      const run = await runPatchExperiment(model, experiment, runId, {
        cancel: token,
        header: (h) => void ctx.connection.sendNotification(PatchProgressNotification.type, { runId, header: toWire(h) }),
        progress: (p) => void ctx.connection.sendNotification(PatchProgressNotification.type, { runId, progress: toWire(p) }),
      });
      ctx.log(
        `patching run ${runId}: ${run.status.kind === "done" ? `${run.status.cellsRun} cells in ${run.status.forwardPasses} passes, ${run.status.ms} ms` : run.status.kind}`,
      );
      return toWire(run);
    } catch (e) {
      throw userError(e, "Patching", token);
    }
  });

  ctx.connection.onRequest(PatchCellRequest.type, async (p, token) => {
    try {
      return await patchCellTop(await engineModel(), p);
    } catch (e) {
      throw userError(e, "Patching", token);
    }
  });
}

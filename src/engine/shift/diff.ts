// Two-model diff: the same text through two models of one architecture (base vs fine-tuned, fp32 vs a
// quantised variant), compared per layer and token (residual difference norm, cosine, relative
// difference) and per token (KL between the next-token distributions, top-1 agreement).
import * as path from "path";
import type { LoadedModel } from "../model/loaded";
import type { TextTokenizer } from "../tokenizer";
import type { CancelToken, HookName } from "../types";
import { IntrospectError, hookName } from "../types";
import { driftLayer, mean, nextTokenDiff, rowDiff } from "./diffMath";
import type { DiffSummary } from "./shapes";

export type { DiffSummary } from "./shapes";

export interface DiffSide {
  model: LoadedModel;
  tok: TextTokenizer;
}

export interface ModelDiff {
  /** Labels: `a` is the reference side. */
  a: string;
  b: string;
  tokens: Array<{ id: number; text: string }>;
  layers: number;
  /** The sites compared, one per layer (each layer's output). */
  sites: HookName[];
  /** [layers * tokens], layer-major. */
  norm: Float32Array;
  cosine: Float32Array;
  relative: Float32Array;
  /** Mean over tokens of `relative`, per layer. */
  meanRelative: Float32Array;
  /** Mean relative difference of the residual entering layer 0 (the embeddings). */
  embedRelative: number;
  /** The same per token ([tokens]; zeros where the graph has no hook_resid_pre of layer 0). */
  embedRelativeByToken: Float32Array;
  kl: Float32Array;
  top1A: Int32Array;
  top1B: Int32Array;
  summary: DiffSummary;
}

/** Short names for the two sides: the variants when both come from one folder, else the model ids. */
export function sideLabels(a: LoadedModel, b: LoadedModel): [string, string] {
  if (path.resolve(a.resolved.folder) === path.resolve(b.resolved.folder) && a.resolved.variant !== b.resolved.variant)
    return [a.resolved.variant, b.resolved.variant];
  return a.info.id === b.info.id ? [`${a.info.id} (a)`, `${b.info.id} (b)`] : [a.info.id, b.info.id];
}

/** Refuses, with one sentence, two models whose activations cannot be compared position by position. */
export function checkComparable(a: DiffSide, b: DiffSide, text: string): { idsA: number[]; idsB: number[] } {
  const [la, lb] = sideLabels(a.model, b.model);
  const ia = a.model.info;
  const ib = b.model.info;
  const differ: string[] = [];
  if (ia.numLayers !== ib.numLayers) differ.push(`${ia.numLayers} layers against ${ib.numLayers}`);
  if (ia.dModel !== ib.dModel) differ.push(`a residual width of ${ia.dModel} against ${ib.dModel}`);
  if (ia.vocabSize !== ib.vocabSize) differ.push(`a vocabulary of ${ia.vocabSize} against ${ib.vocabSize}`);
  if (a.tok.vocabSize !== b.tok.vocabSize) differ.push(`tokenizers of ${a.tok.vocabSize} and ${b.tok.vocabSize} tokens`);
  const idsA = a.tok.encode(text).map((t) => t.id);
  const idsB = b.tok.encode(text).map((t) => t.id);
  if (differ.length === 0 && (idsA.length !== idsB.length || idsA.some((x, i) => x !== idsB[i])))
    differ.push(`tokenizers that split the text differently (${idsA.length} and ${idsB.length} tokens)`);
  else if (differ.length === 0) {
    const at = idsA.findIndex((id) => a.tok.tokenText(id) !== b.tok.tokenText(id));
    if (at >= 0)
      differ.push(
        `tokenizers that read token ${idsA[at]} as ${JSON.stringify(a.tok.tokenText(idsA[at]))} and ${JSON.stringify(b.tok.tokenText(idsA[at]))}`,
      );
  }
  if (differ.length)
    throw new IntrospectError(
      "bad-input",
      `${la} and ${lb} cannot be compared position by position: they have ${differ.join(", ")}. Compare two models of one architecture that share a tokenizer.`,
    );
  if (idsA.length === 0) throw new IntrospectError("bad-input", "Nothing to compare: the text has no tokens.");
  return { idsA, idsB };
}

/** Runs `text` through both models and compares them. */
export async function diffModels(a: DiffSide, b: DiffSide, text: string, cancel?: CancelToken, cutToContext = false): Promise<ModelDiff> {
  const checked = checkComparable(a, b, text).idsA;
  // Built-in texts (the fidelity badge) are cut to the shorter context; a user's text is refused when too long.
  const context = Math.min(a.model.contextLength ?? Infinity, b.model.contextLength ?? Infinity);
  const idsA = cutToContext ? checked.slice(0, context) : checked;
  const L = a.model.info.numLayers;
  const sites = Array.from({ length: L }, (_, l) => hookName(l, "hook_resid_post"));
  const before = hookName(0, "hook_resid_pre");
  const capture = a.model.map.sites.has(before) && b.model.map.sites.has(before) ? [...sites, before] : sites;
  const ra = await a.model.run({ ids: idsA, capture, cancel });
  const rb = await b.model.run({ ids: idsA, capture, cancel });
  const T = idsA.length;
  const norm = new Float32Array(L * T);
  const cosine = new Float32Array(L * T);
  const relative = new Float32Array(L * T);
  const meanRelative = new Float32Array(L);
  sites.forEach((s, l) => {
    const d = rowDiff(ra.captures.get(s)!, rb.captures.get(s)!);
    norm.set(d.norm, l * T);
    cosine.set(d.cosine, l * T);
    relative.set(d.relative, l * T);
    meanRelative[l] = mean(d.relative);
  });
  const embedRelativeByToken = capture.includes(before)
    ? rowDiff(ra.captures.get(before)!, rb.captures.get(before)!).relative
    : new Float32Array(idsA.length);
  const embedRelative = mean(embedRelativeByToken);
  const nt = nextTokenDiff(ra.logits, rb.logits);
  const [la, lb] = sideLabels(a.model, b.model);
  const tokens = idsA.map((id) => ({ id, text: a.tok.tokenText(id) }));
  const partial = {
    a: la,
    b: lb,
    tokens,
    layers: L,
    sites,
    norm,
    cosine,
    relative,
    meanRelative,
    embedRelative,
    embedRelativeByToken,
    ...nt,
  };
  return { ...partial, summary: summarise([partial]) };
}

/**
 * The diff of positions [start, end) only (e.g. a probe's selected tokens, the rest of the text
 * being their context): every per-token array cut, the per-layer means and the summary taken over
 * those positions.
 */
export function sliceDiff(d: ModelDiff, start: number, end: number): ModelDiff {
  const T = d.tokens.length;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= T))
    throw new IntrospectError("bad-input", `Positions ${start} to ${end} are not within the ${T} tokens of the text.`);
  const n = end - start;
  const cut = (x: Float32Array) => {
    const out = new Float32Array(d.layers * n);
    for (let l = 0; l < d.layers; l++) out.set(x.subarray(l * T + start, l * T + end), l * n);
    return out;
  };
  const relative = cut(d.relative);
  const embedRelativeByToken = d.embedRelativeByToken.slice(start, end);
  const partial: DiffParts = {
    ...d,
    tokens: d.tokens.slice(start, end),
    norm: cut(d.norm),
    cosine: cut(d.cosine),
    relative,
    meanRelative: Float32Array.from({ length: d.layers }, (_, l) => mean(relative.subarray(l * n, (l + 1) * n))),
    embedRelative: mean(embedRelativeByToken),
    embedRelativeByToken,
    kl: d.kl.slice(start, end),
    top1A: d.top1A.slice(start, end),
    top1B: d.top1B.slice(start, end),
  };
  return { ...partial, summary: summarise([partial]) };
}

type DiffParts = Omit<ModelDiff, "summary">;

/** One summary over one or more diffs of the same pair (texts pooled position by position). */
export function summarise(diffs: DiffParts[]): DiffSummary {
  const L = diffs[0].layers;
  let agree = 0;
  let n = 0;
  let klSum = 0;
  let klMax = 0;
  const relSum = new Float64Array(L);
  let embedSum = 0;
  for (const d of diffs) {
    const T = d.tokens.length;
    for (let t = 0; t < T; t++) {
      agree += Number(d.top1A[t] === d.top1B[t]);
      klSum += d.kl[t];
      klMax = Math.max(klMax, d.kl[t]);
      for (let l = 0; l < L; l++) relSum[l] += d.relative[l * T + t];
    }
    embedSum += d.embedRelative * T;
    n += T;
  }
  const meanRel = Array.from(relSum, (s) => s / n);
  const drift = driftLayer(meanRel, embedSum / n);
  // The position where the gap is widest at that layer, over every text.
  let where = { rel: -Infinity, token: "", pos: 0 };
  for (const d of diffs) {
    const T = d.tokens.length;
    for (let t = 0; t < T; t++) {
      const r = d.relative[drift.layer * T + t];
      if (r > where.rel) where = { rel: r, token: d.tokens[t].text, pos: t };
    }
  }
  const s = {
    top1Agreement: agree / n,
    meanKL: klSum / n,
    maxKL: klMax,
    driftLayer: drift.layer,
    driftPosition: where.pos,
    driftToken: where.token,
    tokens: n,
  };
  return { ...s, text: summaryText(diffs[0].b, diffs[0].a, s) };
}

export function summaryText(b: string, a: string, s: Omit<DiffSummary, "text">): string {
  const kl = s.meanKL === 0 ? "0" : s.meanKL < 0.001 ? s.meanKL.toExponential(1) : s.meanKL.toFixed(3);
  return `${b} vs ${a}: top-1 agreement ${(100 * s.top1Agreement).toFixed(1)}%, mean KL ${kl}, largest drift at layer ${s.driftLayer}, token ${JSON.stringify(s.driftToken)}`;
}

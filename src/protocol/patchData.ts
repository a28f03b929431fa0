// The data of an activation-patching experiment as it travels host -> extension -> patching panel
// (webview/patch). Browser-safe: types and pure helpers only. Over JSON-RPC the grids are encoded
// with toWire/fromWire (src/protocol/wire.ts: typed arrays as bytes); into the webview they go as
// WebviewTensor (an ArrayBuffer plus dims), never as JSON number arrays.
import type { WebviewTensor } from "./webviewTensor";

/** Sites patched layer by layer (TransformerLens kinds; the grid's rows are layers). */
export type PatchSiteKind =
  "hook_resid_pre" | "hook_resid_mid" | "hook_resid_post" | "hook_attn_out" | "hook_mlp_out" | "moe.hook_router_logits";

/** Short names, as written in prompt files and shown in the UI. */
export const PATCH_SITES: { kind: PatchSiteKind; short: string; detail: string }[] = [
  { kind: "hook_resid_pre", short: "resid_pre", detail: "residual stream entering the layer" },
  { kind: "hook_attn_out", short: "attn_out", detail: "output of the layer's attention" },
  { kind: "hook_mlp_out", short: "mlp_out", detail: "output of the layer's MLP" },
  { kind: "hook_resid_mid", short: "resid_mid", detail: "residual stream between attention and MLP" },
  { kind: "hook_resid_post", short: "resid_post", detail: "residual stream leaving the layer" },
  {
    kind: "moe.hook_router_logits",
    short: "router_logits",
    detail: "routing decision of the layer's experts (the clean run's router logits: its top-k choice and weights)",
  },
];

export const DEFAULT_SITES: PatchSiteKind[] = ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"];

export function shortSite(kind: PatchSiteKind): string {
  return PATCH_SITES.find((s) => s.kind === kind)?.short ?? kind;
}

/** `resid_pre`, `hook_resid_pre` or `blocks.*.hook_resid_pre` -> the kind; undefined when unknown. */
export function siteKindOf(name: string): PatchSiteKind | undefined {
  const n = name.trim().replace(/^blocks\.(\d+|\*)\./, "");
  return PATCH_SITES.find((s) => s.short === n || s.kind === n)?.kind;
}

/** The three read-outs of a patched run; the panel's metric selector picks one. */
export type PatchMetricName = "normalised" | "logitDiff" | "pCorrect";

export const PATCH_METRICS: { name: PatchMetricName; label: string; explain: string }[] = [
  {
    name: "normalised",
    label: "Normalised logit difference",
    explain:
      "(patched − corrupted) / (clean − corrupted) of logit(correct) − logit(wrong): 0 = nothing restored, 1 = the clean answer fully restored.",
  },
  {
    name: "logitDiff",
    label: "Logit difference",
    explain: "logit(correct) − logit(wrong) of the corrupted run with this one activation patched.",
  },
  { name: "pCorrect", label: "p(correct)", explain: "Probability of the correct answer after the patch." },
];

/** What the user asked for; saved with the results so an export (or a rerun) knows its inputs. */
export interface PatchExperiment {
  clean: string;
  corrupt: string;
  /** The answer as typed (" Mary", or #id); absent = the clean prompt's top-1 token. */
  answer?: string;
  /** The wrong answer as typed; absent = the corrupted prompt's top-1 token. */
  wrong?: string;
  sites: PatchSiteKind[];
  /** Layers to sweep; absent = every layer. */
  layers?: number[];
  /** Corrupted-prompt positions; absent = every position that has a partner (see the note). */
  positions?: number[];
  /** Patched runs per forward pass. */
  batchSize?: number;
  /** Where the prompts came from, e.g. "ioi.introspect#names-swapped", "selection", "input". */
  source?: string;
  /** The metric the panel shows first (a prompt file's `metric`); the panel's selector changes it. */
  metric?: PatchMetricName;
}

export interface PatchToken {
  id: number;
  text: string;
}

export interface PatchAnswer extends PatchToken {
  /** Probability in the clean (correct) or corrupted (wrong) run; set for the top-1 defaults. */
  p?: number;
  /** True when the user gave it; false when it is the top-1 default. */
  given: boolean;
}

export interface PatchBaseline {
  logitDiff: number;
  pCorrect: number;
}

/** Host reply to patchPrepare: what the command needs to offer sensible defaults. */
export interface PatchPreview {
  modelId: string;
  numLayers: number;
  cleanTokens: PatchToken[];
  corruptTokens: PatchToken[];
  correct: PatchAnswer;
  wrong: PatchAnswer;
  /** Site kinds this model's graph exposes at every layer. */
  sites: PatchSiteKind[];
  /** Why some sites (single heads) are not offered. */
  sitesNote?: string;
  /** Corrupted positions that can be patched, and their clean partners. */
  positions: number[];
  cleanPositions: number[];
  /** The pairing rule in a sentence, when the token counts differ. */
  note?: string;
}

/** Everything a panel needs before the first cell arrives (and what an export records). */
export interface PatchHeader extends PatchPreview {
  runId: number;
  experiment: PatchExperiment;
  runSites: PatchSiteKind[];
  layers: number[];
  baselines: { clean: PatchBaseline; corrupt: PatchBaseline };
  /** Cells in the whole grid: sites x layers x positions. */
  total: number;
  startedAt: string;
}

/** One site's results, row-major [layers x positions]; NaN where not (yet) computed. */
export interface PatchGrid {
  normalised: Float32Array;
  logitDiff: Float32Array;
  pCorrect: Float32Array;
}

export type PatchStatus =
  | { kind: "running" }
  | { kind: "done"; forwardPasses: number; cellsRun: number; cellsSkipped: number; ms: number }
  | { kind: "cancelled" }
  | { kind: "failed"; message: string };

/** A whole experiment: header, grids so far, status. The extension keeps it and posts it on reload. */
export interface PatchRun {
  header: PatchHeader;
  grids: Partial<Record<PatchSiteKind, PatchGrid>>;
  done: number;
  status: PatchStatus;
}

/** Progress of run `runId`: the grids of the sites that changed, as they are now (partial). */
export interface PatchProgressData {
  runId: number;
  done: number;
  total: number;
  grids: Partial<Record<PatchSiteKind, PatchGrid>>;
}

/** A clicked cell: the corrupted run's top next tokens with that one activation patched. */
export interface PatchCellParams {
  experiment: PatchExperiment;
  correct: number;
  wrong: number;
  site: PatchSiteKind;
  layer: number;
  /** Corrupted-prompt position. */
  position: number;
  k?: number;
}

export interface PatchCellResult {
  site: PatchSiteKind;
  layer: number;
  position: number;
  logitDiff: number;
  pCorrect: number;
  top: { id: number; text: string; p: number; logit: number }[];
}

// ---- into the webview: grids as ArrayBuffers ---------------------------------------------------

export interface WebviewGrid {
  normalised: WebviewTensor;
  logitDiff: WebviewTensor;
  pCorrect: WebviewTensor;
}

export function gridToWebview(g: PatchGrid, rows: number, cols: number): WebviewGrid {
  const t = (a: Float32Array): WebviewTensor => ({
    dims: [rows, cols],
    buffer: a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer,
  });
  return { normalised: t(g.normalised), logitDiff: t(g.logitDiff), pCorrect: t(g.pCorrect) };
}

export function gridFromWebview(g: WebviewGrid): PatchGrid {
  return {
    normalised: new Float32Array(g.normalised.buffer),
    logitDiff: new Float32Array(g.logitDiff.buffer),
    pCorrect: new Float32Array(g.pCorrect.buffer),
  };
}

export function gridsToWebview(grids: PatchRun["grids"], rows: number, cols: number): Partial<Record<PatchSiteKind, WebviewGrid>> {
  const out: Partial<Record<PatchSiteKind, WebviewGrid>> = {};
  for (const [k, g] of Object.entries(grids) as [PatchSiteKind, PatchGrid][]) out[k] = gridToWebview(g, rows, cols);
  return out;
}

/** The JSON export: inputs, tokens, answers, baselines and each metric as [layer][position] arrays. */
export function exportJson(run: PatchRun): unknown {
  const h = run.header;
  const P = h.positions.length;
  const rows = (a: Float32Array) =>
    h.layers.map((_, li) => Array.from(a.subarray(li * P, (li + 1) * P), (v) => (Number.isFinite(v) ? v : null)));
  return {
    kind: "introspect.patching",
    version: 1,
    model: h.modelId,
    experiment: h.experiment,
    clean: { text: h.experiment.clean, tokens: h.cleanTokens },
    corrupt: { text: h.experiment.corrupt, tokens: h.corruptTokens },
    correct: h.correct,
    wrong: h.wrong,
    baselines: h.baselines,
    layers: h.layers,
    positions: h.positions,
    cleanPositions: h.cleanPositions,
    note: h.note,
    status: run.status,
    cellsDone: run.done,
    cellsTotal: h.total,
    startedAt: h.startedAt,
    grids: Object.fromEntries(
      (Object.entries(run.grids) as [PatchSiteKind, PatchGrid][]).map(([k, g]) => [
        shortSite(k),
        { site: k, normalised: rows(g.normalised), logitDiff: rows(g.logitDiff), pCorrect: rows(g.pCorrect) },
      ]),
    ),
  };
}

/** A PatchRun as posted to the panel: the same, with grids as ArrayBuffers. */
export interface WebviewPatchRun {
  header: PatchHeader;
  grids: Partial<Record<PatchSiteKind, WebviewGrid>>;
  done: number;
  status: PatchStatus;
}

export function runToWebview(run: PatchRun): WebviewPatchRun {
  return { ...run, grids: gridsToWebview(run.grids, run.header.layers.length, run.header.positions.length) };
}

export function runFromWebview(run: WebviewPatchRun): PatchRun {
  const grids: PatchRun["grids"] = {};
  for (const [k, g] of Object.entries(run.grids) as [PatchSiteKind, WebviewGrid][]) grids[k] = gridFromWebview(g);
  return { ...run, grids };
}

// The heatmaps of the patching panel: one per site, layers x positions, one diverging colour
// scale centred on zero shared by all sites (so colours compare across sites), hover values,
// and a click that asks the extension for the top tokens after that patch.
import { PATCH_METRICS, shortSite, type PatchMetricName, type PatchRun, type PatchSiteKind } from "../../src/protocol/patchData";
import { legend, scaleFor, type ColorScale } from "../shared/colors";
import { el, fmt } from "../shared/dom";
import { pct } from "../shared/format";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";

export interface GridContext {
  run: PatchRun;
  metric: PatchMetricName;
  onSelect(site: PatchSiteKind, li: number, pi: number): void;
  /** Cell to keep selected across redraws while cells stream in. */
  selected?: { site: PatchSiteKind; li: number; pi: number };
  /** The colour scale's half-width, held while cells stream in (scaleLock.ts); undefined fits the data. */
  span?: number;
  /** Extra controls beside the legend (the rescale button). */
  legendExtra?: HTMLElement | null;
}

export function formatValue(m: PatchMetricName, v: number): string {
  if (!Number.isFinite(v)) return "pending";
  return m === "pCorrect" ? pct(v) : fmt(v, 3);
}

/** The scale's half-width before any cell is known: 1 for normalised and p(correct), the larger baseline otherwise. */
export function startSpan(run: PatchRun, m: PatchMetricName): number {
  if (m !== "logitDiff") return 1;
  return Math.max(Math.abs(run.header.baselines.clean.logitDiff), Math.abs(run.header.baselines.corrupt.logitDiff)) || 1;
}

/** The largest |value| of metric m over every site's cells so far (at least the start span). */
export function dataSpan(run: PatchRun, m: PatchMetricName): number {
  let a = startSpan(run, m);
  if (m === "pCorrect") return a;
  for (const g of Object.values(run.grids)) for (const v of g![m]) if (Number.isFinite(v)) a = Math.max(a, Math.abs(v));
  return a;
}

/** One scale for every site, symmetric around zero: `span` when held, else fitted to the cells. */
export function sharedScale(run: PatchRun, m: PatchMetricName, span?: number): ColorScale {
  const a = span ?? dataSpan(run, m);
  return scaleFor(new Float32Array(0), "rdbu", [-a, a]);
}

export function finishedCells(a: Float32Array): number {
  let n = 0;
  for (const v of a) if (!Number.isNaN(v)) n++;
  return n;
}

export function positionLabel(run: PatchRun, pi: number): string {
  const h = run.header;
  const pos = h.positions[pi];
  return `${pos} ${tokenLabel({ id: h.corruptTokens[pos].id, text: h.corruptTokens[pos].text, piece: "" })}`;
}

export function gridViews(ctx: GridContext): HTMLElement {
  const { run, metric } = ctx;
  const h = run.header;
  const scale = sharedScale(run, metric, ctx.span);
  const info = PATCH_METRICS.find((x) => x.name === metric)!;
  const wrap = el(
    "div",
    { class: "grids", data: { scaleSpan: scale.hi } },
    el("p", { class: "muted explain", text: info.explain }),
    el(
      "div",
      { class: "legend-row" },
      legend(scale, info.label, (v) => formatValue(metric, v)),
      ctx.legendExtra ?? null,
    ),
    el("p", {
      class: "muted small axis-note",
      text: "Columns are positions of the corrupted prompt (its tokens label them); the clean token patched in is in each cell's tooltip.",
    }),
  );
  for (const site of h.runSites) {
    const g = run.grids[site];
    if (!g) continue;
    const values = g[metric];
    const P = h.positions.length;
    const short = shortSite(site);
    const hm = new Heatmap({
      name: `patch-${short}`,
      label: `${short}: ${info.label}, layers by corrupted-prompt positions`,
      rows: h.layers.length,
      cols: P,
      pixels: pixelsFromValues(values, scale),
      rowLabel: (li) => `L${h.layers[li]}`,
      colLabel: (pi) => positionLabel(run, pi),
      describe: (li, pi) =>
        `${short} layer ${h.layers[li]}, position ${h.positions[pi]} ${quoted(h.corruptTokens[h.positions[pi]].text)}: ${formatValue(metric, values[li * P + pi])}`,
      tooltip: (li, pi) => tooltip(run, site, li, pi, metric),
      onSelect: (li, pi) => ctx.onSelect(site, li, pi),
      maxCellW: 56,
      cellH: 22,
    });
    const finished = finishedCells(g.normalised);
    const section = el(
      "section",
      { class: "site", data: { site: short, finished, cells: h.layers.length * P } },
      el(
        "h3",
        {},
        short,
        el("span", { class: "muted small", text: `  ${site} · columns: corrupted prompt · ${finished} / ${h.layers.length * P} cells` }),
      ),
      hm.root,
    );
    wrap.append(section);
    const sel = ctx.selected;
    if (sel && sel.site === site) requestAnimationFrame(() => hm.moveTo(sel.li, sel.pi, false));
  }
  return wrap;
}

function tooltip(run: PatchRun, site: PatchSiteKind, li: number, pi: number, current: PatchMetricName): Node[] {
  const h = run.header;
  const g = run.grids[site]!;
  const P = h.positions.length;
  const pos = h.positions[pi];
  const cleanTok = h.cleanTokens[h.cleanPositions[pi]];
  const corTok = h.corruptTokens[pos];
  const lines: Node[] = [
    el(
      "div",
      { class: "tip-title" },
      `${shortSite(site)} · L${h.layers[li]} · position ${pos} `,
      el("code", { text: quoted(corTok.text) }),
    ),
  ];
  if (cleanTok.id !== corTok.id || h.cleanPositions[pi] !== pos) {
    lines.push(
      el("div", { class: "tip-sub" }, `clean token (position ${h.cleanPositions[pi]}): `, el("code", { text: quoted(cleanTok.text) })),
    );
  }
  const t = el("table", { class: "tip-table" });
  for (const m of PATCH_METRICS) {
    const row = el("tr", {}, el("td", { text: m.label }), el("td", { text: formatValue(m.name, g[m.name][li * P + pi]) }));
    if (m.name === current) row.className = "current";
    t.append(row);
  }
  lines.push(t, el("div", { class: "tip-sub muted", text: "Click for the top tokens after this patch." }));
  return lines;
}

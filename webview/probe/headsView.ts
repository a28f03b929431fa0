// Heads: every head of one layer side by side (queries down, keys across; hovering a cell in one
// marks the same query/key in all and lists each head's weight), and a head x layer summary of
// entropy, previous-token and induction scores (headScores.ts) with induction heads flagged.
// All pattern data comes through `fetchHead` (one head of one layer), so it can move to on-demand
// or binary fetching without touching the drawing.
import type { AttentionData } from "../../src/protocol/probeData";
import { cssColor, legend, scaleFor, writeColor, type ColorScale } from "../shared/colors";
import { button, el, fmt, select, themeColor } from "../shared/dom";
import { hideTooltip, showTooltip } from "../shared/tooltip";
import { quoted } from "../shared/tokens";
import { headScores, summaryPlan, type HeadScores } from "./headScores";
import { reviveAttention, type PanelContext } from "./model";
import { layerSelect, querySelect, type QueryRows } from "./selects";

/** Induction score at or above which a head is flagged. */
export const INDUCTION_FLAG = 0.4;
const SUMMARY_METRICS = { induction: "Induction score", prevToken: "Previous-token score", entropy: "Entropy (nats)" } as const;
type SummaryMetric = keyof typeof SUMMARY_METRICS;
type Pattern = Extract<AttentionData, { kind: "pattern" }>;

/** Layers whose fetched heads the page keeps for the probe shown: the grid's and the last one scored. */
const KEPT_LAYERS = 2;
/** Heads fetched for the probe shown, by "layer/queries", newest last; a repaint of the panel (lens
 * columns arriving, a theme switch) draws them again without asking the host (at 1,024 tokens one
 * layer's heads are 128 MB). Another probe, or a failed answer, drops them. */
let kept: { probeId?: string; layers: Map<string, Map<number, Promise<AttentionData>>> } = { layers: new Map() };

/** The one place pattern data is fetched from (the probe's own layer/head comes with the result). */
export function fetchHead(ctx: PanelContext, layer: number, head: number, queries: QueryRows = "selection"): Promise<AttentionData> {
  const a = ctx.result.attention;
  if (queries === "selection" && a && a.kind === "pattern" && a.layer === layer && a.head === head) return Promise.resolve(a);
  if (kept.probeId !== ctx.result.id || ctx.result.id === undefined) kept = { probeId: ctx.result.id, layers: new Map() };
  const key = `${layer}/${queries}`;
  const heads = kept.layers.get(key) ?? new Map<number, Promise<AttentionData>>();
  kept.layers.delete(key); // re-inserted as the newest
  kept.layers.set(key, heads);
  while (kept.layers.size > KEPT_LAYERS) kept.layers.delete(kept.layers.keys().next().value!);
  let p = heads.get(head);
  if (!p) {
    p = ctx.client.request("introspect/probeAttention", { layer, head, queries }).then(reviveAttention);
    heads.set(head, p);
    p.catch(() => heads.get(head) === p && heads.delete(head));
  }
  return p;
}

/** Marks head `h` of layer `l` in the grid and in the summary (linked hover); undefined clears. */
function link(root: HTMLElement, at?: { l: number; h: number }): void {
  root.querySelectorAll(".linked").forEach((e) => e.classList.remove("linked"));
  root.dataset.linked = at ? `${at.l},${at.h}` : "";
  if (!at) return;
  const grid = root.querySelector<HTMLElement>("[data-heads-grid]");
  if (grid?.dataset.layer === String(at.l)) grid.querySelector(`.head-tile[data-head="${at.h}"]`)?.classList.add("linked");
  root.querySelector(`td.score[data-layer="${at.l}"][data-head="${at.h}"]`)?.classList.add("linked");
}

export function headsView(ctx: PanelContext): HTMLElement {
  const r = ctx.result;
  const root = el("section", { class: "view", attrs: { "aria-labelledby": "heads-title" }, data: { view: "heads" } });
  root.append(el("h2", { text: "Heads", attrs: { id: "heads-title" } }));
  const H = r.model.numHeads ?? r.attention?.numHeads ?? 0;
  if (!r.attention || r.attention.kind !== "pattern" || H < 1) {
    root.append(
      el("p", { class: "note", text: r.attention?.kind === "unavailable" ? r.attention.reason : "No attention patterns for this probe." }),
    );
    return root;
  }
  const grid = el("div", { class: "heads-grid", data: { headsGrid: "" } });
  let layer = r.attention.layer;
  const layerSel = layerSelect(r.layerCount, layer, "heads-layer", (l) => {
    layer = l;
    void drawLayer();
  });
  let queries: QueryRows = "selection";
  const querySel = querySelect(queries, "heads-queries", (q) => {
    queries = q;
    void drawLayer();
  });
  const summary = el("div", { class: "heads-summary", data: { headsSummary: "" } });
  root.append(el("div", { class: "toolbar" }, layerSel.root, querySel.root), grid, el("h3", { text: "Head × layer summary" }), summary);
  // Linked hover: a head in the grid marks its summary cell and back; clicking a summary cell shows its layer.
  grid.addEventListener("mouseover", (ev) => {
    const tile = (ev.target as HTMLElement).closest<HTMLElement>(".head-tile");
    if (tile) link(root, { l: Number(grid.dataset.layer), h: Number(tile.dataset.head) });
  });
  summary.addEventListener("mouseover", (ev) => {
    const td = (ev.target as HTMLElement).closest<HTMLElement>("td.score");
    if (td) link(root, { l: Number(td.dataset.layer), h: Number(td.dataset.head) });
  });
  summary.addEventListener("click", (ev) => {
    const td = (ev.target as HTMLElement).closest<HTMLElement>("td.score");
    if (!td || td.dataset.layer === grid.dataset.layer) return;
    layer = Number(td.dataset.layer);
    layerSel.select.value = String(layer);
    void drawLayer().then(() => link(root, { l: layer, h: Number(td.dataset.head) }));
  });
  root.addEventListener("mouseleave", () => link(root));

  async function drawLayer(): Promise<void> {
    const want = layer;
    const rows = queries;
    grid.replaceChildren(el("p", { class: "muted", text: `Loading the ${H} heads of layer ${want}…` }));
    try {
      const heads = await Promise.all(Array.from({ length: H }, (_, h) => fetchHead(ctx, want, h, rows)));
      if (want !== layer || rows !== queries) return;
      const patterns = heads.filter((a): a is Pattern => a.kind === "pattern");
      if (patterns.length !== H) {
        grid.replaceChildren(el("p", { class: "note", text: "This layer's attention patterns are not available." }));
        return;
      }
      grid.replaceChildren(...smallMultiples(ctx, patterns, grid));
      grid.dataset.layer = String(want);
      grid.dataset.queries = rows;
    } catch (e) {
      grid.replaceChildren(el("p", { class: "error", text: e instanceof Error ? e.message : String(e) }));
    }
  }

  async function drawSummary(): Promise<void> {
    summary.replaceChildren(el("p", { class: "muted", text: `Scoring ${r.layerCount * H} heads…` }));
    const ids = r.tokens.map((t) => t.id);
    const table: HeadScores[][] = [];
    try {
      for (let l = 0; l < r.layerCount; l++) {
        const heads = await Promise.all(Array.from({ length: H }, (_, h) => fetchHead(ctx, l, h)));
        table.push(
          heads.map((a) =>
            a.kind === "pattern"
              ? headScores({ data: a.pattern.data, q: a.pattern.dims[0], keys: a.pattern.dims[1], start: r.selection.start }, ids)
              : { entropy: NaN, prevToken: NaN, induction: NaN },
          ),
        );
      }
    } catch (e) {
      summary.replaceChildren(el("p", { class: "error", text: e instanceof Error ? e.message : String(e) }));
      return;
    }
    let metric: SummaryMetric = "induction";
    const body = el("div");
    const pick = select(
      "Score",
      (Object.keys(SUMMARY_METRICS) as SummaryMetric[]).map((m) => ({ value: m, label: SUMMARY_METRICS[m] })),
      metric,
      (v) => {
        metric = v as SummaryMetric;
        body.replaceChildren(...summaryTable(table, metric));
      },
    );
    pick.select.dataset.control = "heads-metric";
    body.replaceChildren(...summaryTable(table, metric));
    const flagged = table.flatMap((row, l) => row.flatMap((s, h) => (s.induction >= INDUCTION_FLAG ? [`L${l}H${h}`] : [])));
    summary.replaceChildren(
      el("div", { class: "toolbar" }, pick.root),
      el("p", {
        class: "muted",
        data: { inductionHeads: flagged.join(" ") },
        text: flagged.length
          ? `Induction heads (score ≥ ${INDUCTION_FLAG}): ${flagged.join(", ")}.`
          : `No head scores ≥ ${INDUCTION_FLAG} on induction here (it needs tokens that repeat in the prompt).`,
      }),
      body,
    );
    summary.dataset.ready = "true";
  }

  // On demand: the grid's passes run once the view is on screen, the summary's (one per layer)
  // by themselves only when the probe's own pass says they are quick.
  const plan = summaryPlan(r);
  const offerSummary = () => {
    const est = plan.estimateMs === undefined ? "" : `, about ${fmtSeconds(plan.estimateMs)}`;
    summary.replaceChildren(
      el("p", {
        class: "muted",
        text: `Scoring every head takes ${plan.passes} forward passes${est}: it runs when asked.`,
      }),
      button(`Score all ${r.layerCount * H} heads`, () => void drawSummary()),
    );
    summary.dataset.offered = "true";
  };
  grid.replaceChildren(el("p", { class: "muted", text: `The ${H} heads of layer ${layer} load when this view is on screen.` }));
  grid.dataset.pending = "true";
  // Room for a row of tiles before they come, so that loading them shifts what is below less.
  const q = r.selection.end - r.selection.start;
  grid.style.minHeight = `${q * tileCell(q, r.selection.end) + 40}px`;
  whenOnScreen(root, () => {
    delete grid.dataset.pending;
    void drawLayer().then(() => (plan.auto ? drawSummary() : offerSummary()));
  });
  return root;
}

function fmtSeconds(ms: number): string {
  return ms < 60000 ? `${Math.max(1, Math.round(ms / 1000))} s` : `${Math.round(ms / 60000)} min`;
}

/** Runs `f` once `node` is within a screen of the viewport (at once where the page has no IntersectionObserver). */
function whenOnScreen(node: HTMLElement, f: () => void): void {
  if (typeof IntersectionObserver === "undefined") return f();
  // A screen ahead: the layer has usually loaded by the time it is scrolled to.
  const io = new IntersectionObserver(
    (entries) => {
      if (!entries.some((e) => e.isIntersecting)) return;
      io.disconnect();
      f();
    },
    { rootMargin: "100% 0px" },
  );
  io.observe(node);
}

/** Pixels per cell of a head's tile: the tile at most 220 px on its longer side, cells 1 to 8 px. */
function tileCell(q: number, keys: number): number {
  return Math.max(1, Math.min(8, Math.floor(220 / Math.max(q, keys))));
}

/** One canvas per head, linked: the hovered query/key is marked in every head. */
function smallMultiples(ctx: PanelContext, heads: Pattern[], host: HTMLElement): HTMLElement[] {
  const [q, keys] = heads[0].pattern.dims;
  const q0 = heads[0].queryStart ?? ctx.result.selection.start;
  const scale = scaleFor(new Float32Array([0, 1]), "magma", [0, 1]);
  const cell = tileCell(q, keys);
  const canvases: HTMLCanvasElement[] = [];
  const sources = heads.map((a) => {
    const src = document.createElement("canvas");
    src.width = keys;
    src.height = q;
    const px = new Uint8ClampedArray(q * keys * 4);
    for (let i = 0; i < q; i++)
      for (let k = 0; k < keys; k++) {
        const o = (i * keys + k) * 4;
        // Keys after the query are masked by causality: left empty.
        if (k > q0 + i) px[o + 3] = 0;
        else writeColor(scale, a.pattern.data[i * keys + k], px, o);
      }
    src.getContext("2d")!.putImageData(new ImageData(px, keys, q), 0, 0);
    return src;
  });
  const draw = (hover?: { i: number; k: number }) => {
    heads.forEach((_, h) => {
      const c = canvases[h];
      const g = c.getContext("2d")!;
      g.imageSmoothingEnabled = false;
      g.clearRect(0, 0, c.width, c.height);
      g.drawImage(sources[h], 0, 0, keys * cell, q * cell);
      if (hover) {
        g.strokeStyle = themeColor("--vscode-focusBorder", "#0090f1");
        g.lineWidth = 1;
        g.strokeRect(hover.k * cell - 1.5, hover.i * cell - 1.5, cell + 3, cell + 3);
      }
    });
  };
  const tiles = heads.map((a, h) => {
    const c = el("canvas", { class: "head-canvas", attrs: { role: "img", "aria-label": `Layer ${a.layer} head ${h}: queries by keys` } });
    c.width = keys * cell;
    c.height = q * cell;
    canvases.push(c);
    const at = (ev: MouseEvent) => {
      const rect = c.getBoundingClientRect();
      const k = Math.floor(((ev.clientX - rect.left) / rect.width) * keys);
      const i = Math.floor(((ev.clientY - rect.top) / rect.height) * q);
      return i >= 0 && k >= 0 && i < q && k < keys ? { i, k } : undefined;
    };
    c.addEventListener("mousemove", (ev) => {
      const p = at(ev);
      if (!p) return;
      host.dataset.hover = `${p.i},${p.k}`;
      draw(p);
      const qt = ctx.result.tokens[q0 + p.i];
      const kt = ctx.result.tokens[p.k];
      showTooltip(ev.clientX, ev.clientY, [
        el(
          "div",
          { class: "tip-title" },
          "query ",
          el("code", { text: quoted(qt.text) }),
          " → key ",
          el("code", { text: quoted(kt.text) }),
        ),
        ...heads.map((b, hh) => el("div", { text: `H${hh}: ${fmt(b.pattern.data[p.i * keys + p.k])}` })),
      ]);
    });
    c.addEventListener("mouseleave", () => {
      hideTooltip();
      draw();
    });
    return el("figure", { class: "head-tile", data: { head: h } }, c, el("figcaption", { text: `H${h}` }));
  });
  draw();
  return [legend(scale, "Attention weight", (v) => fmt(v)), el("div", { class: "head-tiles" }, ...tiles)];
}

function summaryTable(table: HeadScores[][], metric: SummaryMetric): HTMLElement[] {
  const values = new Float32Array(table.flat().map((s) => s[metric]));
  const scale: ColorScale = scaleFor(values, metric === "entropy" ? "viridis" : "magma", metric === "entropy" ? undefined : [0, 1]);
  const H = table[0]?.length ?? 0;
  const head = el(
    "tr",
    {},
    el("th", { text: "" }),
    ...Array.from({ length: H }, (_, h) => el("th", { text: `H${h}`, attrs: { scope: "col" } })),
  );
  const rows = table.map((row, l) =>
    el(
      "tr",
      {},
      el("th", { text: `L${l}`, attrs: { scope: "row" } }),
      ...row.map((s, h) => {
        const v = s[metric];
        const td = el("td", {
          class: "score" + (s.induction >= INDUCTION_FLAG ? " flag" : ""),
          text: fmt(v),
          data: { layer: l, head: h, induction: s.induction, prevToken: s.prevToken, entropy: s.entropy },
          attrs: { title: `L${l}H${h}: induction ${fmt(s.induction)}, previous-token ${fmt(s.prevToken)}, entropy ${fmt(s.entropy)}` },
        });
        td.style.background = cssColor(scale, v);
        td.style.color = luminance(cssColor(scale, v)) > 0.5 ? "#000" : "#fff";
        return td;
      }),
    ),
  );
  return [
    legend(scale, SUMMARY_METRICS[metric], (v) => fmt(v)),
    el("table", { class: "heads-table" }, el("thead", {}, head), el("tbody", {}, ...rows)),
  ];
}

function luminance(css: string): number {
  const m = /(\d+)\D+(\d+)\D+(\d+)/.exec(css);
  if (!m) return 0;
  return (0.2126 * Number(m[1]) + 0.7152 * Number(m[2]) + 0.0722 * Number(m[3])) / 255;
}

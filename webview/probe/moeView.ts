// Mixture-of-experts routing: one token's layer x expert routing weights (expertGrid.ts), then a
// layer x token heatmap where each cell is split into k stripes, one per chosen expert (colour =
// expert, opacity = router probability), and per-expert usage bars.
import type { MoeData } from "../../src/protocol/probeData";
import { categoryColor } from "../shared/colors";
import { button, el, select } from "../shared/dom";
import { pct } from "../shared/format";
import { canvasPng, toCsv } from "../shared/export";
import { Heatmap } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import type { PanelContext } from "./model";
import { exportFile } from "./exporting";
import { attachExpertMenu } from "./expertMenu";
import { expertGrid } from "./expertGrid";

export function moeView(ctx: PanelContext, moe: MoeData): HTMLElement {
  const r = ctx.result;
  const n = ctx.sel.length;
  const { k, numExperts: E } = moe;
  const L = r.layerCount;
  const px = new Uint8ClampedArray(L * k * n * 4);
  for (let l = 0; l < L; l++) {
    for (let c = 0; c < n; c++) {
      for (let j = 0; j < k; j++) {
        const i = (l * n + c) * k + j;
        const [cr, cg, cb] = categoryColor(moe.experts.data[i], E);
        const o = ((l * k + j) * n + c) * 4;
        px.set([cr, cg, cb, Math.round(110 + 145 * Math.min(1, moe.probs.data[i]))], o);
      }
    }
  }
  const grid = expertGrid(ctx, moe);
  const heatmap = new Heatmap({
    name: "experts",
    label: `Top-${k} experts per layer and token`,
    rows: L,
    cols: n,
    pixels: { sub: k, data: px },
    rowLabel: (l) => `L${l}`,
    colLabel: (c) => tokenLabel(ctx.sel[c]),
    describe: (l, c) =>
      `layer ${l}, token ${quoted(ctx.sel[c].text)}: ${routes(moe, l, c, n)
        .map((e) => `expert ${e.e} ${pct(e.p)}`)
        .join(", ")}`,
    tooltip: (l, c) => [
      el("div", { class: "tip-title" }, `L${l} · `, el("code", { text: quoted(ctx.sel[c].text) })),
      ...routes(moe, l, c, n).map((e) => el("div", {}, swatch(e.e, E), ` expert ${e.e}: ${pct(e.p)}`)),
    ],
    cellH: 8 * k + 2,
    onSelect: (_l, c) => grid.show(c),
  });
  attachExpertMenu(ctx, heatmap.root, moe);
  const usage = el("div", { class: "usage" });
  const layerSel = select(
    "Usage at",
    [{ value: "all", label: "all layers" }, ...Array.from({ length: L }, (_, l) => ({ value: String(l), label: `L${l}` }))],
    String(ctx.state.moeLayer),
    (v) => {
      ctx.state.moeLayer = v === "all" ? "all" : Number(v);
      ctx.saveState();
      renderUsage();
    },
  );
  layerSel.select.dataset.control = "moe-layer";

  function renderUsage(): void {
    const counts = new Float32Array(E);
    const layers = ctx.state.moeLayer === "all" ? Array.from({ length: L }, (_, l) => l) : [ctx.state.moeLayer];
    for (const l of layers) for (let e = 0; e < E; e++) counts[e] += moe.usage.data[l * E + e];
    const total = n * k * layers.length;
    const max = Math.max(1, ...counts);
    const list = el("ul", { class: "usage-bars", attrs: { "aria-label": "Tokens routed to each expert" }, data: { experts: E } });
    for (let e = 0; e < E; e++) {
      const bar = el("span", { class: "bar" });
      bar.style.width = `${(counts[e] / max) * 100}%`;
      const [cr, cg, cb] = categoryColor(e, E);
      bar.style.backgroundColor = `rgb(${cr}, ${cg}, ${cb})`;
      list.append(
        el(
          "li",
          {},
          el("span", { class: "bar-label", text: `E${e}` }),
          el("span", { class: "bar-track" }, bar),
          el("span", { class: "bar-value", text: `${counts[e]} (${pct(counts[e] / total)})` }),
        ),
      );
    }
    usage.replaceChildren(list);
  }
  renderUsage();

  const legendRow = el("div", { class: "legend expert-legend" }, el("span", { class: "legend-label", text: "Experts" }));
  for (let e = 0; e < Math.min(E, 32); e++) legendRow.append(el("span", { class: "expert-key" }, swatch(e, E), `E${e}`));
  return el(
    "section",
    { class: "view", attrs: { "aria-labelledby": "moe-title" }, data: { view: "moe" } },
    el("h2", { text: "Experts", attrs: { id: "moe-title" } }),
    el("p", {
      class: "muted explain",
      text: `Which experts the router sends each token to: one token's routing weights first, then every token's top ${k}.`,
    }),
    el(
      "div",
      { class: "toolbar" },
      button("PNG", () => void canvasPng(heatmap.canvas).then((png) => exportFile(ctx, "png", "experts.png", png))),
      button("CSV", () => exportFile(ctx, "csv", "experts.csv", moeCsv(ctx, moe))),
    ),
    grid.root,
    el("h3", { text: `Top-${k} experts of every token` }),
    el("p", {
      class: "muted explain",
      text: `Each cell holds ${k} stripes, one per chosen expert (most probable on top); stronger colour = higher router probability. Enter or a click shows that token above.`,
    }),
    legendRow,
    heatmap.root,
    el("h3", { text: "Expert usage over the selection" }),
    el("div", { class: "toolbar" }, layerSel.root),
    usage,
  );
}

function routes(moe: MoeData, l: number, c: number, n: number): { e: number; p: number }[] {
  return Array.from({ length: moe.k }, (_, j) => {
    const i = (l * n + c) * moe.k + j;
    return { e: moe.experts.data[i], p: moe.probs.data[i] };
  });
}

function swatch(e: number, E: number): HTMLElement {
  const s = el("span", { class: "swatch", attrs: { "aria-hidden": "true" } });
  const [r, g, b] = categoryColor(e, E);
  s.style.backgroundColor = `rgb(${r}, ${g}, ${b})`;
  return s;
}

function moeCsv(ctx: PanelContext, moe: MoeData): string {
  const n = ctx.sel.length;
  const rows: (string | number)[][] = [];
  for (let l = 0; l < ctx.result.layerCount; l++) {
    for (let c = 0; c < n; c++)
      for (const [rank, e] of routes(moe, l, c, n).entries())
        rows.push([l, ctx.result.selection.start + c, ctx.sel[c].text, rank + 1, e.e, e.p]);
  }
  return toCsv(["layer", "token_index", "token", "rank", "expert", "probability"], rows);
}

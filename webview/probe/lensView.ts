// The logit lens: first as a grid of top-1 tokens coloured by probability (lensGrid.ts), and as a
// table (a toggle): layers down, a window of selected tokens across, top-5 per cell. Windowed
// because 1024 tokens x 32 layers x 5 entries would be 160k DOM nodes.
import { button, el } from "../shared/dom";
import { toCsv } from "../shared/export";
import { pct } from "../shared/format";
import { GRID_WINDOW, lensGrid, lensLegend, lensScale } from "./lensGrid";
import { quoted, tokenLabel } from "../shared/tokens";
import { lensAt, type PanelContext } from "./model";
import { exportFile } from "./exporting";
import { lensMissing, type ProbeResult } from "../../src/protocol/probeData";

/** "computed for N of M tokens" while the panel is still asking for lens columns. */
export function lensPendingText(r: ProbeResult): string {
  const n = r.selection.end - r.selection.start;
  const left = lensMissing(r).reduce((s, m) => s + m.end - m.start, 0);
  return `Logit lens computed for ${n - left} of ${n} tokens; the rest is on its way (until then the next-token probability and entropy heatmaps show n/a there).`;
}

const TABLE_WINDOW = 8;

export function lensView(ctx: PanelContext): { root: HTMLElement; show(col: number): void } {
  const r = ctx.result;
  const n = ctx.sel.length;
  const tableWrap = el("div", { class: "lens-wrap" });
  const pos = el("span", { class: "muted" });
  const pending = el("p", { class: "muted", attrs: { role: "status" }, data: { lensPending: "" } });
  const win = () => (ctx.state.lensMode === "table" ? TABLE_WINDOW : GRID_WINDOW);
  const prev = button("◀ Previous tokens", () => go(ctx.state.lensStart - win()));
  const next = button("Next tokens ▶", () => go(ctx.state.lensStart + win()));
  const scale = lensScale();
  const legendHost = el("div", { class: "lens-legend" });
  const modes = (["grid", "table"] as const).map((m) => {
    const b = button(
      m === "grid" ? "Grid" : "Table",
      () => setMode(m),
      m === "grid" ? "Top-1 token per layer and position, coloured by probability" : "Top-5 tokens per layer and position",
    );
    b.dataset.lensMode = m;
    return b;
  });

  function setMode(m: "grid" | "table"): void {
    ctx.state.lensMode = m;
    ctx.saveState();
    render();
  }

  function go(start: number): void {
    ctx.state.lensStart = Math.max(0, Math.min(Math.max(0, n - win()), start));
    ctx.saveState();
    render();
  }

  function render(): void {
    const mode = ctx.state.lensMode ?? "grid";
    for (const b of modes) b.setAttribute("aria-pressed", String(b.dataset.lensMode === mode));
    const s = Math.min(ctx.state.lensStart, Math.max(0, n - win()));
    const e = Math.min(n, s + win());
    prev.disabled = s === 0;
    next.disabled = e >= n;
    pos.textContent = `tokens ${s + 1}-${e} of ${n}`;
    ctx.lensWant?.(s, e);
    pending.hidden = !lensMissing(r).length;
    pending.textContent = pending.hidden ? "" : lensPendingText(r);
    legendHost.replaceChildren(...(mode === "grid" ? [lensLegend(scale)] : []));
    if (mode === "grid") {
      tableWrap.replaceChildren(lensGrid(ctx, s, e, scale));
      return;
    }
    const head = el("tr", {}, el("th", { text: "Layer", attrs: { scope: "col" } }));
    for (let c = s; c < e; c++) {
      const nextId = r.nextTokenIds[c];
      head.append(
        el(
          "th",
          { attrs: { scope: "col" } },
          el("span", { class: "token", text: tokenLabel(ctx.sel[c]) }),
          el("div", { class: "muted small", text: `next: ${nextId >= 0 ? quoted(r.logitLens.vocab[nextId] ?? "") : "(end)"}` }),
        ),
      );
    }
    const body = el("tbody");
    // Last layer first: it is the model's own prediction, what a reader checks first.
    for (let l = r.layerCount - 1; l >= 0; l--) {
      const tr = el("tr", {}, el("th", { text: l === r.layerCount - 1 ? `L${l} (output)` : `L${l}`, attrs: { scope: "row" } }));
      for (let c = s; c < e; c++) {
        const cell = el("td", { data: { layer: l, token: c } });
        const nextId = r.nextTokenIds[c];
        for (const entry of lensAt(r, l, c)) {
          cell.append(
            el(
              "div",
              { class: "lens-entry" + (entry.id === nextId ? " hit" : "") },
              el("code", { text: tokenLabel({ id: entry.id, text: entry.text, piece: "" }) }),
              el("span", { class: "prob", text: ` ${pct(entry.p)}` }),
            ),
          );
        }
        tr.append(cell);
      }
      body.append(tr);
    }
    const table = el(
      "table",
      { class: "data-table lens-table", data: { lens: "table", start: s, end: e } },
      el("caption", { class: "visually-hidden", text: "Logit lens: top 5 next tokens per layer and token, with probabilities" }),
      el("thead", {}, head),
      body,
    );
    tableWrap.replaceChildren(table);
  }

  const root = el(
    "section",
    { class: "view", attrs: { "aria-labelledby": "lens-title" }, data: { view: "lens" } },
    el("h2", { text: "Logit lens", attrs: { id: "lens-title" } }),
    el("p", {
      class: "muted explain",
      text: "Each layer's residual through the final norm and the unembedding: what the model would predict at that depth. Outlined (grid) or highlighted (table): the token that actually comes next.",
    }),
    el(
      "div",
      { class: "toolbar" },
      el("span", { class: "segmented", attrs: { role: "group", "aria-label": "Logit lens view" } }, ...modes),
      prev,
      pos,
      next,
      button("CSV", () => exportFile(ctx, "csv", "logit-lens.csv", lensCsv(ctx)), "Export the top-5 of every layer and token as CSV"),
    ),
    pending,
    legendHost,
    tableWrap,
  );
  render();
  return {
    root,
    show: (col) => (col < ctx.state.lensStart || col >= ctx.state.lensStart + win() ? go(col - Math.floor(win() / 2)) : undefined),
  };
}

function lensCsv(ctx: PanelContext): string {
  const r = ctx.result;
  const rows: (string | number)[][] = [];
  for (let l = 0; l < r.layerCount; l++) {
    for (let c = 0; c < ctx.sel.length; c++) {
      for (const [rank, e] of lensAt(r, l, c).entries())
        rows.push([l, r.selection.start + c, ctx.sel[c].text, rank + 1, e.id, e.text, e.p]);
    }
  }
  return toCsv(["layer", "token_index", "token", "rank", "id", "predicted", "probability"], rows);
}

// The logit lens as the tuned-lens papers draw it: layers down (output on top), positions across,
// each cell the layer's top-1 next token coloured by its probability on the theme's sequential
// scale. Token text is set as text (never HTML), cut to a few characters; the cell's title holds
// the whole token and the top-5 with probabilities. The cell of the token that actually comes next
// is marked. A window of columns, paged like the table.
import { cssColor, legend, parseColor, scaleFor, textOn, themePalette, type ColorScale } from "../shared/colors";
import { el } from "../shared/dom";
import { pct } from "../shared/format";
import { quoted, tokenLabel } from "../shared/tokens";
import { lensAt, type PanelContext } from "./model";

/** Columns the grid shows at once. */
export const GRID_WINDOW = 16;
/** Characters of a token a cell shows before "…". */
const CELL_CHARS = 8;

export function lensScale(): ColorScale {
  return scaleFor(new Float32Array(0), "sequential", [0, 1]);
}

export function truncate(label: string, max = CELL_CHARS): string {
  const chars = Array.from(label);
  return chars.length > max ? chars.slice(0, max - 1).join("") + "…" : label;
}

/** The grid over selected tokens [s, e). */
export function lensGrid(ctx: PanelContext, s: number, e: number, scale: ColorScale): HTMLElement {
  const r = ctx.result;
  const palette = themePalette();
  const head = el("tr", {}, el("th", { text: "Layer", attrs: { scope: "col" } }));
  for (let c = s; c < e; c++) {
    const label = tokenLabel(ctx.sel[c]);
    head.append(
      el(
        "th",
        { attrs: { scope: "col", title: `token ${r.selection.start + c}: ${quoted(ctx.sel[c].text)}` } },
        el("span", { class: "token", text: label }),
      ),
    );
  }
  const body = el("tbody");
  for (let l = r.layerCount - 1; l >= 0; l--) {
    const tr = el("tr", {}, el("th", { text: l === r.layerCount - 1 ? `L${l} out` : `L${l}`, attrs: { scope: "row" } }));
    for (let c = s; c < e; c++) {
      const entries = lensAt(r, l, c);
      const top = entries[0];
      const nextId = r.nextTokenIds[c];
      const cell = el("td", { class: "lens-cell", data: { layer: l, token: c } });
      if (top) {
        const label = tokenLabel({ id: top.id, text: top.text, piece: "" });
        const bg = cssColor(scale, top.p);
        cell.style.background = bg;
        cell.style.color = textOn(parseColor(bg), palette);
        if (top.id === nextId) cell.classList.add("hit");
        cell.dataset.p = String(top.p);
        cell.title = [
          `L${l}, after ${quoted(ctx.sel[c].text)}:`,
          ...entries.map((x, i) => `${i + 1}. ${quoted(x.text)} ${pct(x.p)}`),
          nextId >= 0 ? `next in the text: ${quoted(r.logitLens.vocab[nextId] ?? "")}` : "end of the text",
        ].join("\n");
        cell.append(el("span", { class: "lens-entry", text: truncate(label), data: { full: label } }));
      } else if (r.logitLens.computed) {
        cell.title = "Not computed yet";
        cell.append(el("span", { class: "muted", text: "…", data: { pending: "" } }));
      }
      tr.append(cell);
    }
    body.append(tr);
  }
  const next = el("tr", { class: "lens-next" }, el("th", { text: "next", attrs: { scope: "row" } }));
  for (let c = s; c < e; c++) {
    const id = r.nextTokenIds[c];
    const text = id >= 0 ? (r.logitLens.vocab[id] ?? "") : "";
    next.append(el("td", { class: "muted", text: id >= 0 ? truncate(tokenLabel({ id, text, piece: "" })) : "(end)" }));
  }
  body.append(next);
  return el(
    "table",
    { class: "lens-grid", data: { lens: "grid", start: s, end: e } },
    el("caption", {
      class: "visually-hidden",
      text: "Logit lens grid: the top next token per layer and token, coloured by its probability",
    }),
    el("thead", {}, head),
    body,
  );
}

export function lensLegend(scale: ColorScale): HTMLElement {
  return legend(scale, "Top-1 probability", pct);
}

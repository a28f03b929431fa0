// The expert view at a glance: for one token, a layer x expert heatmap of routing weight (the
// router probability of each chosen expert; striped where the expert is not among the top-k), on the
// theme's sequential scale with its legend. The token is picked from a list or stepped through.
import type { MoeData } from "../../src/protocol/probeData";
import { legend, scaleFor, themePalette, writeColor, type ColorScale } from "../shared/colors";
import { oklabMix } from "../shared/oklab";
import { button, el, select } from "../shared/dom";
import { pct } from "../shared/format";
import { Heatmap } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import type { PanelContext } from "./model";

/** Routing weights of selected token `col`: [layers, experts], NaN where the expert was not chosen. */
export function routingGrid(moe: MoeData, layers: number, n: number, col: number): Float32Array {
  const E = moe.numExperts;
  const out = new Float32Array(layers * E).fill(NaN);
  for (let l = 0; l < layers; l++)
    for (let j = 0; j < moe.k; j++) {
      const i = (l * n + col) * moe.k + j;
      const e = moe.experts.data[i];
      if (e >= 0 && e < E) out[l * E + e] = moe.probs.data[i];
    }
  return out;
}

/** Stripes per cell: experts the token does not go to are striped, so they never read as a low weight. */
const STRIPES = 4;

function routingPixels(values: Float32Array, layers: number, experts: number, scale: ColorScale): { sub: number; data: Uint8ClampedArray } {
  const p = themePalette();
  const faint = oklabMix(p.background, p.foreground, 0.18);
  const data = new Uint8ClampedArray(values.length * STRIPES * 4);
  for (let l = 0; l < layers; l++)
    for (let e = 0; e < experts; e++) {
      const v = values[l * experts + e];
      for (let j = 0; j < STRIPES; j++) {
        const o = ((l * STRIPES + j) * experts + e) * 4;
        if (!Number.isNaN(v)) writeColor(scale, v, data, o);
        else if (j % 2 === 1) data.set([...faint, 255], o);
      }
    }
  return { sub: STRIPES, data };
}

export function expertGrid(ctx: PanelContext, moe: MoeData): { root: HTMLElement; show(col: number): void } {
  const n = ctx.sel.length;
  const L = ctx.result.layerCount;
  const E = moe.numExperts;
  // Weights are probabilities: one fixed 0..1 scale, so tokens compare.
  const scale = scaleFor(new Float32Array(0), "sequential", [0, 1]);
  const host = el("div", { class: "expert-grid-host" });
  const picker = select(
    "Token",
    ctx.sel.map((t, c) => ({ value: String(c), label: `${ctx.result.selection.start + c}: ${tokenLabel(t)}` })),
    String(clampCol(ctx.state.moeToken ?? n - 1)),
    (v) => show(Number(v)),
  );
  picker.select.dataset.control = "moe-token";
  const prev = button("◀", () => show(current - 1), "Previous token");
  const next = button("▶", () => show(current + 1), "Next token");
  let current = 0;

  function clampCol(c: number): number {
    return Math.max(0, Math.min(n - 1, Math.floor(c)));
  }

  function show(col: number): void {
    current = clampCol(col);
    ctx.state.moeToken = current;
    ctx.saveState();
    picker.select.value = String(current);
    prev.disabled = current === 0;
    next.disabled = current >= n - 1;
    const tok = ctx.sel[current];
    const values = routingGrid(moe, L, n, current);
    const heatmap = new Heatmap({
      name: "expert-weights",
      label: `Routing weight per layer and expert for token ${quoted(tok.text)}`,
      rows: L,
      cols: E,
      pixels: routingPixels(values, L, E, scale),
      rowLabel: (l) => `L${l}`,
      colLabel: (e) => `E${e}`,
      describe: (l, e) => {
        const w = values[l * E + e];
        return `layer ${l}, expert ${e}: ${Number.isNaN(w) ? "not chosen" : pct(w)}`;
      },
      tooltip: (l, e) => {
        const w = values[l * E + e];
        return [
          el("div", { class: "tip-title" }, `L${l} · E${e} · `, el("code", { text: quoted(tok.text) })),
          el("div", { text: Number.isNaN(w) ? `not among the top ${moe.k}` : `routing weight ${pct(w)}` }),
        ];
      },
      maxCellW: 40,
      cellH: 22,
    });
    host.replaceChildren(heatmap.root);
    host.dataset.token = String(current);
  }
  show(ctx.state.moeToken ?? n - 1);

  const root = el(
    "div",
    { class: "expert-grid", data: { expertGrid: "" } },
    el("h3", { text: "Routing of one token" }),
    el("p", {
      class: "muted explain",
      text: `Layers down, experts across: the router probability of each of the ${moe.k} experts the token goes to in that layer; striped cells are experts it does not go to.`,
    }),
    el("div", { class: "toolbar" }, prev, picker.root, next),
    legend(scale, "Routing weight", pct),
    host,
  );
  return { root, show };
}

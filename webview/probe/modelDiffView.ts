// Compare models: the probed text through a second model ("Compare with…", computed in the host by
// the engine's two-model diff), under the probe. Its summary line; three layer x token heatmaps of
// each layer's output (norm of the difference and relative difference on sequential scales, the
// cosine between the two on its own range up to 1); a row per token with the KL between the two
// next-token distributions and whether their top-1 tokens agree; CSV export and Close.
import type { ModelComparison } from "../../src/protocol/compareModels";
import { reviveFloat, reviveInt } from "../../src/protocol/probeData";
import { cssColor, legend, scaleFor, type ColorScale, type ScaleName } from "../shared/colors";
import { button, el, fmt } from "../shared/dom";
import { toCsv } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { exportFile } from "./exporting";
import type { PanelContext } from "./model";

/** What the panel knows of the comparison of the probe shown: its result, or that it runs or failed. */
export interface ComparisonState {
  probeId?: string;
  comparison?: ModelComparison;
  status?: { kind: "running" | "failed"; message: string };
}

/** The tensors of a comparison as typed arrays, whatever form they arrived in (a reload's JSON included). */
export function reviveComparison(c: ModelComparison): ModelComparison {
  const f = (x: unknown) => reviveFloat({ dims: [0], data: x }).data;
  const i = (x: unknown) => reviveInt({ dims: [0], data: x }).data;
  return {
    ...c,
    norm: f(c.norm),
    cosine: f(c.cosine),
    relative: f(c.relative),
    meanRelative: f(c.meanRelative),
    kl: f(c.kl),
    top1A: i(c.top1A),
    top1B: i(c.top1B),
  };
}

/** The header button: runs Compare with… on this probe. */
export function compareWithButton(ctx: PanelContext): HTMLButtonElement {
  const b = button("Compare with…", () => ctx.post({ type: "introspect/compareWith" }), "Run this text through a second model and compare");
  b.dataset.control = "compare-with";
  return b;
}

interface Grid {
  key: "norm" | "cosine" | "relative";
  label: string;
  scale: ScaleName;
  explain: string;
}

const GRIDS: Grid[] = [
  { key: "relative", label: "Relative difference", scale: "magma", explain: "|a − b| / |a| of each layer's output (a: the loaded model)." },
  { key: "norm", label: "Norm of the difference", scale: "magma", explain: "|a − b|, the L2 norm of the difference of the residuals." },
  { key: "cosine", label: "Cosine between the two", scale: "viridis", explain: "cos(a, b) of the residuals (1 = same direction)." },
];

export function modelDiffView(ctx: PanelContext, s: ComparisonState): HTMLElement {
  const section = el("section", {
    class: "view model-diff",
    attrs: { "aria-labelledby": "model-diff-title" },
    data: { view: "model-diff" },
  });
  const c = s.comparison;
  const title = el("h2", { text: c ? `Compare models · ${c.b} vs ${c.a}` : "Compare models", attrs: { id: "model-diff-title" } });
  const close = button("Close", () => ctx.post({ type: "introspect/compareClose" }), "Remove the comparison from the panel");
  close.dataset.control = "compare-close";
  if (!c) {
    const failed = s.status?.kind === "failed";
    section.append(
      title,
      el("p", { class: failed ? "error" : "muted", text: s.status?.message ?? "", data: { status: s.status?.kind ?? "" } }),
      failed ? el("div", { class: "toolbar" }, compareWithButton(ctx), close) : "",
    );
    return section;
  }
  const n = c.tokens.length;
  const sel = ctx.sel;
  const toolbar = el(
    "div",
    { class: "toolbar" },
    button(
      "CSV",
      () => exportFile(ctx, "csv", `compare-${c.b}-vs-${c.a}.csv`, comparisonCsv(c)),
      "Export every number of the comparison as CSV",
    ),
    compareWithButton(ctx),
    close,
  );
  section.append(
    title,
    el("p", { class: "model-diff-summary", text: c.summary.text, data: { driftLayer: c.summary.driftLayer } }),
    el("p", {
      class: "muted",
      text: `${c.b}: ${c.bFile}. Both models read the whole probed text; shown are its ${n} selected tokens.`,
    }),
    toolbar,
  );
  for (const g of GRIDS) {
    const values = c[g.key];
    const scale = g.key === "cosine" ? scaleFor(values, "viridis", [Math.min(minOf(values), 1 - 1e-6), 1]) : scaleFor(values, g.scale);
    const h = new Heatmap({
      name: `model-diff-${g.key}`,
      label: `${g.label}, layers by tokens`,
      rows: c.layers,
      cols: n,
      pixels: pixelsFromValues(values, scale),
      rowLabel: (l) => `L${l}`,
      colLabel: (col) => (sel[col] ? tokenLabel(sel[col]) : quoted(c.tokens[col].text)),
      describe: (l, col) => `layer ${l}, token ${quoted(c.tokens[col].text)}: ${g.label.toLowerCase()} ${fmt(values[l * n + col], 4)}`,
      tooltip: (l, col) => cellTip(c, l, col),
    });
    section.append(
      el("h3", { text: g.label }),
      el("p", { class: "muted explain", text: g.explain }),
      legend(scale, g.label, (v) => fmt(v, 4)),
      h.root,
    );
  }
  section.append(el("h3", { text: "Next-token distributions" }), tokenTable(c));
  return section;
}

function minOf(x: Float32Array): number {
  let m = Infinity;
  for (const v of x) if (Number.isFinite(v) && v < m) m = v;
  return m === Infinity ? 0 : m;
}

function cellTip(c: ModelComparison, l: number, col: number): Node[] {
  const n = c.tokens.length;
  const at = l * n + col;
  return [
    el("div", { class: "tip-title" }, `L${l} · token ${c.offset + col} `, el("code", { text: quoted(c.tokens[col].text) })),
    el(
      "table",
      { class: "tip-table" },
      el("tr", {}, el("td", { text: "relative difference" }), el("td", { text: fmt(c.relative[at], 4) })),
      el("tr", {}, el("td", { text: "|a − b|" }), el("td", { text: fmt(c.norm[at], 4) })),
      el("tr", {}, el("td", { text: "cosine" }), el("td", { text: fmt(c.cosine[at], 6) })),
    ),
  ];
}

/** A row per token: KL(P_a ‖ P_b) with a bar, both top-1 tokens, and whether they agree. */
function tokenTable(c: ModelComparison): HTMLElement {
  let hi = 0;
  for (const v of c.kl) if (Number.isFinite(v)) hi = Math.max(hi, v);
  const scale: ColorScale = scaleFor(c.kl, "magma", [0, hi || 1]);
  const table = el(
    "table",
    { class: "data-table model-diff-tokens", attrs: { "aria-label": "KL and top-1 agreement per token" } },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...["#", "Token", "KL (nats)", `Top-1 ${c.a}`, `Top-1 ${c.b}`, "Agree"].map((h) => el("th", { text: h, attrs: { scope: "col" } })),
      ),
    ),
  );
  const body = el("tbody");
  c.tokens.forEach((t, i) => {
    const agree = c.top1A[i] === c.top1B[i];
    const swatch = el("span", { class: "kl-swatch" });
    swatch.style.background = cssColor(scale, c.kl[i]); // CSSOM, which the panel's CSP allows
    body.append(
      el(
        "tr",
        { class: agree ? "" : "differs", data: { token: c.offset + i, agree: String(agree) } },
        el("td", { text: String(c.offset + i) }),
        el("td", {}, el("code", { text: quoted(t.text) })),
        el("td", {}, swatch, el("span", { text: fmt(c.kl[i], 3) })),
        el("td", {}, el("code", { text: quoted(c.vocab[c.top1A[i]] ?? `<${c.top1A[i]}>`) })),
        el("td", {}, el("code", { text: quoted(c.vocab[c.top1B[i]] ?? `<${c.top1B[i]}>`) })),
        el("td", { text: agree ? "yes" : "no" }),
      ),
    );
  });
  table.append(body);
  return table;
}

/** One row per (layer, token): that layer's numbers, and beside them the token's KL and both top-1 tokens. */
export function comparisonCsv(c: ModelComparison): string {
  const n = c.tokens.length;
  const rows: (string | number)[][] = [];
  for (let l = 0; l < c.layers; l++)
    for (let i = 0; i < n; i++) {
      const at = l * n + i;
      rows.push([
        l,
        c.sites[l],
        c.offset + i,
        c.tokens[i].text,
        c.norm[at],
        c.cosine[at],
        c.relative[at],
        c.kl[i],
        c.vocab[c.top1A[i]] ?? "",
        c.vocab[c.top1B[i]] ?? "",
        c.top1A[i] === c.top1B[i] ? 1 : 0,
      ]);
    }
  const header = ["layer", "site", "position", "token", "norm", "cosine", "relative", "kl", `top1_${c.a}`, `top1_${c.b}`, "top1_agree"];
  return toCsv(header, rows);
}

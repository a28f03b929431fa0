// Layer x token heatmap of one metric, with its legend, exports, editor tint and the massive
// activations found in the residual stream.
import type { LayerMetricName } from "../../src/protocol/probeData";
import { legend, scaleFor } from "../shared/colors";
import { button, el, fmt, select } from "../shared/dom";
import { pct } from "../shared/format";
import { canvasPng, toCsv } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { METRICS, formatMetric, lensAt, metricValue, type PanelContext } from "./model";
import { METRIC_ORDER } from "./metrics";
import { exportFile } from "./exporting";

export function layerView(ctx: PanelContext): HTMLElement {
  const body = el("div", { class: "view-body" });
  const section = el("section", { class: "view", attrs: { "aria-labelledby": "layers-title" }, data: { view: "layers" } });
  let heatmap: Heatmap | undefined;
  let selectedLayer: number | undefined;

  const metricSelect = select(
    "Metric",
    METRIC_ORDER.map((m) => ({ value: m, label: METRICS[m].label })),
    ctx.state.metric,
    (v) => {
      ctx.state.metric = v as LayerMetricName;
      ctx.saveState();
      render();
    },
  );
  metricSelect.select.dataset.control = "metric";
  const clipBox = el("input", { attrs: { type: "checkbox" }, data: { control: "clip" } });
  clipBox.checked = ctx.state.clip;
  clipBox.addEventListener("change", () => {
    ctx.state.clip = clipBox.checked;
    ctx.saveState();
    render();
  });
  const clipLabel = el(
    "label",
    {
      class: "control",
      attrs: {
        title:
          "Saturate the colours beyond 3 interquartile ranges from the quartiles, so a few massive activations do not flatten the rest",
      },
    },
    clipBox,
    "Clip outliers",
  );

  const tintBtn = button(
    "Tint editor by selected layer",
    () => tintLayer(),
    "Colour the probed tokens in the editor by this metric at the selected layer",
  );
  tintBtn.disabled = true;
  const toolbar = el(
    "div",
    { class: "toolbar" },
    metricSelect.root,
    clipLabel,
    button(
      "PNG",
      () => heatmap && void canvasPng(heatmap.canvas).then((png) => exportFile(ctx, "png", `layers-${ctx.state.metric}.png`, png)),
      "Export the heatmap as PNG",
    ),
    button(
      "CSV",
      () => exportFile(ctx, "csv", `layers-${ctx.state.metric}.csv`, layerCsv(ctx)),
      "Export this metric for every layer and token as CSV",
    ),
    tintBtn,
    button("Clear tint", () => ctx.post({ type: "introspect/tint", tint: null }), "Remove the colours from the editor"),
  );

  function render(): void {
    const r = ctx.result;
    const m = ctx.state.metric;
    const info = METRICS[m];
    const values = r.metrics[m].data;
    const scale = scaleFor(values, info.scale, info.fixed, ctx.state.clip ? 0.75 : undefined);
    const cols = r.selection.end - r.selection.start;
    heatmap = new Heatmap({
      name: "layers",
      label: `${info.label}, layers by tokens`,
      rows: r.layerCount,
      cols,
      pixels: pixelsFromValues(values, scale),
      rowLabel: (l) => `L${l}`,
      colLabel: (c) => tokenLabel(ctx.sel[c]),
      describe: (l, c) => `layer ${l}, token ${quoted(ctx.sel[c].text)}: ${formatMetric(m, metricValue(r, m, l, c))}`,
      tooltip: (l, c) => cellTooltip(ctx, l, c),
      onSelect: (l, c) => {
        selectedLayer = l;
        tintBtn.disabled = false;
        ctx.onTokenFocus(c);
      },
    });
    body.replaceChildren(
      el("p", { class: "muted explain", text: info.explain }),
      legend(scale, info.label, (v) => formatMetric(m, v)),
      heatmap.root,
      massiveList(ctx),
    );
  }

  function tintLayer(): void {
    if (selectedLayer === undefined) return;
    const r = ctx.result;
    const m = ctx.state.metric;
    const values = new Float32Array(r.tokens.length).fill(NaN);
    for (let c = 0; c < ctx.sel.length; c++) {
      const v = metricValue(r, m, selectedLayer, c);
      // Surprisal reads better in the editor than a probability: rare next tokens stand out.
      values[r.selection.start + c] = m === "nextTokenProb" ? -Math.log(v) : v;
    }
    const label = m === "nextTokenProb" ? `L${selectedLayer} next-token surprisal (nats)` : `L${selectedLayer} ${METRICS[m].label}`;
    ctx.post({ type: "introspect/tint", tint: { label, values, signed: false } });
  }

  render();
  section.append(el("h2", { text: "Layers", attrs: { id: "layers-title" } }), toolbar, body);
  return section;
}

function cellTooltip(ctx: PanelContext, l: number, c: number): Node[] {
  const r = ctx.result;
  const tok = ctx.sel[c];
  const nextId = r.nextTokenIds[c];
  const lines: Node[] = [
    el("div", { class: "tip-title" }, `L${l} · token ${r.selection.start + c} `, el("code", { text: quoted(tok.text) }), ` · id ${tok.id}`),
  ];
  const metrics = el("table", { class: "tip-table" });
  for (const m of METRIC_ORDER) {
    const row = el("tr", {}, el("td", { text: METRICS[m].label }), el("td", { text: formatMetric(m, metricValue(r, m, l, c)) }));
    if (m === ctx.state.metric) row.className = "current";
    metrics.append(row);
  }
  lines.push(metrics);
  lines.push(
    el(
      "div",
      { class: "tip-sub" },
      "Actual next: ",
      el("code", { text: nextId >= 0 ? quoted(r.logitLens.vocab[nextId] ?? `<${nextId}>`) : "(end of text)" }),
    ),
  );
  const lens = el("table", { class: "tip-table" });
  for (const e of lensAt(r, l, c)) {
    lens.append(
      el("tr", { class: e.id === nextId ? "hit" : "" }, el("td", {}, el("code", { text: quoted(e.text) })), el("td", { text: pct(e.p) })),
    );
  }
  lines.push(el("div", { class: "tip-sub", text: "Logit lens top tokens:" }), lens);
  return lines;
}

function massiveList(ctx: PanelContext): HTMLElement {
  const r = ctx.result;
  if (!r.massive.length) return el("p", { class: "muted", text: "No massive activations (no dim above 100x its layer's median |value|)." });
  const shown = r.massive.slice(0, 40);
  const table = el(
    "table",
    { class: "data-table", data: { massive: r.massive.length } },
    el("caption", { text: `Massive activations: ${r.massive.length} (dim, layer) pairs above 100x the layer's median |value|` }),
    el(
      "thead",
      {},
      el("tr", {}, ...["Site", "Dim", "max |value|", "x median", "Tokens"].map((h) => el("th", { text: h, attrs: { scope: "col" } }))),
    ),
  );
  const body = el("tbody");
  for (const m of shown) {
    const toks =
      m.tokens
        .slice(0, 6)
        .map((i) => `${i}:${tokenLabel(r.tokens[i])}`)
        .join("  ") + (m.tokens.length > 6 ? ` … (+${m.tokens.length - 6})` : "");
    body.append(
      el(
        "tr",
        {},
        el("td", { text: m.site }),
        el("td", { text: String(m.dim) }),
        el("td", { text: fmt(m.maxAbs) }),
        el("td", { text: fmt(m.maxAbs / m.layerMedianAbs) }),
        el("td", { text: toks }),
      ),
    );
  }
  table.append(body);
  return el("details", {}, el("summary", { text: `Massive activations (${r.massive.length})` }), table);
}

function layerCsv(ctx: PanelContext): string {
  const r = ctx.result;
  const header = ["layer", ...ctx.sel.map((t, i) => `${r.selection.start + i}:${t.text}`)];
  const rows = Array.from({ length: r.layerCount }, (_, l) => [l, ...ctx.sel.map((_t, c) => metricValue(r, ctx.state.metric, l, c))]);
  return toCsv(header, rows);
}

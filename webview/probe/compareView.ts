// Compare: every pinned probe and the current one side by side (the selected metric, layers by
// tokens, one colour scale for all so equal colours mean equal values), each labelled by the
// prompt block or selection it is of, with its own Unpin; and, against the pin chosen in
// "Difference with" (default the latest), current minus pinned on a diverging scale when both
// have the same layers and token count. CSV and JSON exports hold the comparison as drawn.
import type { ProbeResult } from "../../src/protocol/probeData";
import type { ProbePin } from "../../src/protocol/webview";
import { legend, scaleFor } from "../shared/colors";
import { button, el, select } from "../shared/dom";
import { toCsv, toJson } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { exportFile } from "./exporting";
import { METRICS, formatMetric, type PanelContext } from "./model";

export interface Comparison {
  metric: string;
  current: { label: string; probeId?: string };
  pinned: { label: string; probeId?: string }[];
  /** Against which pin the difference is taken, and the difference itself ([layers x tokens], row-major), when the shapes match. */
  difference?: { against: string; values: Float32Array };
}

const selCols = (r: ProbeResult) => r.selection.end - r.selection.start;

/** The difference current - pinned of metric m, or undefined when the shapes differ. */
export function difference(current: ProbeResult, pinned: ProbeResult, m: keyof ProbeResult["metrics"]): Float32Array | undefined {
  if (current.layerCount !== pinned.layerCount || selCols(current) !== selCols(pinned)) return undefined;
  const a = pinned.metrics[m].data;
  const b = current.metrics[m].data;
  return Float32Array.from(b, (v, i) => v - a[i]);
}

/** Rows layer, token, then each probe's value (pins first), then the difference: the comparison as a table. */
export function comparisonCsv(
  current: ProbeResult,
  currentLabel: string,
  pins: ProbePin[],
  m: keyof ProbeResult["metrics"],
  diff?: Float32Array,
): string {
  const cols = selCols(current);
  const sel = current.tokens.slice(current.selection.start, current.selection.end);
  const header = ["layer", "token_index", "token", ...pins.map((p) => p.label), currentLabel, ...(diff ? ["current_minus_pinned"] : [])];
  const rows: (string | number)[][] = [];
  for (let l = 0; l < current.layerCount; l++)
    for (let c = 0; c < cols; c++) {
      const pinValues = pins.map((p) =>
        l < p.result.layerCount && c < selCols(p.result) ? p.result.metrics[m].data[l * selCols(p.result) + c] : NaN,
      );
      rows.push([l, c, sel[c].text, ...pinValues, current.metrics[m].data[l * cols + c], ...(diff ? [diff[l * cols + c]] : [])]);
    }
  return toCsv(header, rows);
}

export function compareView(ctx: PanelContext, pins: ProbePin[], currentLabel: string): { root: HTMLElement; comparison: Comparison } {
  const m = ctx.state.metric;
  const info = METRICS[m];
  const b = ctx.result;
  const others = pins.filter((p) => p.result.id !== b.id);
  const all = [...others.map((p) => p.result), b];
  const both = new Float32Array(all.reduce((n, r) => n + r.metrics[m].data.length, 0));
  let at = 0;
  for (const r of all) {
    both.set(r.metrics[m].data, at);
    at += r.metrics[m].data.length;
  }
  const scale = scaleFor(both, info.scale, info.fixed, ctx.state.clip ? 0.75 : undefined);
  const side = (r: ProbeResult, name: string, title: string, label: string, unpin?: () => void) => {
    const sel = r.tokens.slice(r.selection.start, r.selection.end);
    const values = r.metrics[m].data;
    const cols = sel.length;
    const h = new Heatmap({
      name,
      label: `${title} (${label}): ${info.label}, layers by tokens`,
      rows: r.layerCount,
      cols,
      pixels: pixelsFromValues(values, scale),
      rowLabel: (l) => `L${l}`,
      colLabel: (c) => tokenLabel(sel[c]),
      describe: (l, c) => `${label}, layer ${l}, token ${quoted(sel[c].text)}: ${formatMetric(m, values[l * cols + c])}`,
      tooltip: (l, c) => [
        el("div", { class: "tip-title" }, `${label} · L${l} `, el("code", { text: quoted(sel[c].text) })),
        el("div", { text: formatMetric(m, values[l * cols + c]) }),
      ],
      maxCellW: 28,
    });
    const x = unpin ? button("×", unpin, `Unpin ${label}`) : null;
    if (x) x.dataset.control = "unpin-one";
    return el(
      "div",
      { class: "compare-side", data: { probeId: r.id ?? "", label } },
      el("h3", { class: "compare-title" }, el("span", { text: `${title} · ` }), el("span", { class: "compare-label", text: label }), x),
      el("p", {
        class: "muted compare-text",
        text: sel
          .map((t) => t.text)
          .join("")
          .slice(0, 120),
      }),
      h.root,
    );
  };
  const comparison: Comparison = {
    metric: m,
    current: { label: currentLabel, probeId: b.id },
    pinned: others.map((p) => ({ label: p.label, probeId: p.result.id })),
  };
  const sides = others.map((p, i) =>
    side(p.result, i === others.length - 1 ? "compare-pinned" : `compare-pinned-${i}`, "Pinned", p.label, () =>
      ctx.post({ type: "introspect/pin", pin: false, probeId: p.result.id }),
    ),
  );
  const section = el(
    "section",
    { class: "view", attrs: { "aria-labelledby": "compare-title" }, data: { view: "compare", pins: others.length } },
    el("h2", { text: `Compare · ${info.label}`, attrs: { id: "compare-title" } }),
    legend(scale, info.label, (v) => formatMetric(m, v)),
    el("div", { class: "compare-pair" }, ...sides, side(b, "compare-current", "Current", currentLabel)),
  );
  // The difference: against the chosen pin (kept in the UI state by probe id), else the latest.
  const against = others.find((p) => p.result.id === ctx.state.compareWith) ?? others[others.length - 1];
  const tools = el("div", { class: "toolbar" });
  if (others.length > 1) {
    const pick = select(
      "Difference with",
      others.map((p) => ({ value: p.result.id ?? "", label: p.label })),
      against.result.id ?? "",
      (v) => {
        ctx.state.compareWith = v;
        ctx.saveState();
        ctx.rerender?.();
      },
    );
    pick.select.dataset.control = "compare-with";
    tools.append(pick.root);
  }
  const diff = difference(b, against.result, m);
  if (diff) comparison.difference = { against: against.label, values: diff };
  tools.append(
    button(
      "Export CSV",
      () => exportFile(ctx, "csv", "comparison.csv", comparisonCsv(b, currentLabel, others, m, diff)),
      "Save the comparison (every probe's value per layer and token, and the difference) as CSV",
    ),
    button(
      "Export JSON",
      () => exportFile(ctx, "json", "comparison.json", toJson({ comparison, result: b, pins: others })),
      "Save the current probe, the pinned ones and the comparison as JSON",
    ),
  );
  section.append(tools);
  if (diff) {
    let span = 1e-9;
    for (const v of diff) if (Number.isFinite(v)) span = Math.max(span, Math.abs(v));
    const dScale = scaleFor(diff, "rdbu", [-span, span]);
    const cols = selCols(b);
    const sel = b.tokens.slice(b.selection.start, b.selection.end);
    const h = new Heatmap({
      name: "compare-diff",
      label: `Current minus ${against.label}: ${info.label}, layers by tokens`,
      rows: b.layerCount,
      cols,
      pixels: pixelsFromValues(diff, dScale),
      rowLabel: (l) => `L${l}`,
      colLabel: (c) => tokenLabel(sel[c]),
      describe: (l, c) => `current minus pinned, layer ${l}, token ${c}: ${formatMetric(m, diff[l * cols + c])}`,
      tooltip: (l, c) => [el("div", { text: `L${l}, token ${c}: current − pinned ${formatMetric(m, diff[l * cols + c])}` })],
    });
    section.append(
      el("h3", { text: `Difference (current − ${against.label})`, data: { against: against.result.id ?? "" } }),
      legend(dScale, `Δ ${info.label}`, (v) => formatMetric(m, v)),
      h.root,
    );
  } else {
    section.append(
      el("p", {
        class: "note",
        text: `No difference view: ${against.label} has ${selCols(against.result)} tokens and ${against.result.layerCount} layers, the current probe ${selCols(b)} and ${b.layerCount}.`,
      }),
    );
  }
  return { root: section, comparison };
}

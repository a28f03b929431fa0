// Compare: the pinned probe and the current one side by side (the selected metric, layers by
// tokens, one colour scale for both so equal colours mean equal values) and, when both have the
// same layers and token count, their difference (current minus pinned) on a diverging scale.
import type { ProbeResult } from "../../src/protocol/probeData";
import { legend, scaleFor } from "../shared/colors";
import { el } from "../shared/dom";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { METRICS, formatMetric, type PanelContext } from "./model";

export function compareView(ctx: PanelContext, pinned: ProbeResult): HTMLElement {
  const m = ctx.state.metric;
  const info = METRICS[m];
  const a = pinned;
  const b = ctx.result;
  const both = new Float32Array(a.metrics[m].data.length + b.metrics[m].data.length);
  both.set(a.metrics[m].data, 0);
  both.set(b.metrics[m].data, a.metrics[m].data.length);
  const scale = scaleFor(both, info.scale, info.fixed, ctx.state.clip ? 0.75 : undefined);
  const side = (r: ProbeResult, name: string, title: string) => {
    const sel = r.tokens.slice(r.selection.start, r.selection.end);
    const values = r.metrics[m].data;
    const cols = sel.length;
    const h = new Heatmap({
      name,
      label: `${title}: ${info.label}, layers by tokens`,
      rows: r.layerCount,
      cols,
      pixels: pixelsFromValues(values, scale),
      rowLabel: (l) => `L${l}`,
      colLabel: (c) => tokenLabel(sel[c]),
      describe: (l, c) => `${title}, layer ${l}, token ${quoted(sel[c].text)}: ${formatMetric(m, values[l * cols + c])}`,
      tooltip: (l, c) => [
        el("div", { class: "tip-title" }, `${title} · L${l} `, el("code", { text: quoted(sel[c].text) })),
        el("div", { text: formatMetric(m, values[l * cols + c]) }),
      ],
    });
    return el(
      "div",
      { class: "compare-side", data: { probeId: r.id ?? "" } },
      el("h3", { text: `${title} · ${r.model.id}` }),
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
  const section = el(
    "section",
    { class: "view", attrs: { "aria-labelledby": "compare-title" }, data: { view: "compare" } },
    el("h2", { text: `Compare · ${info.label}`, attrs: { id: "compare-title" } }),
    legend(scale, info.label, (v) => formatMetric(m, v)),
    el("div", { class: "compare-pair" }, side(a, "compare-pinned", "Pinned"), side(b, "compare-current", "Current")),
  );
  const colsA = a.selection.end - a.selection.start;
  const colsB = b.selection.end - b.selection.start;
  if (a.layerCount === b.layerCount && colsA === colsB) {
    const diff = new Float32Array(b.metrics[m].data.length);
    let span = 1e-9;
    for (let i = 0; i < diff.length; i++) {
      diff[i] = b.metrics[m].data[i] - a.metrics[m].data[i];
      if (Number.isFinite(diff[i])) span = Math.max(span, Math.abs(diff[i]));
    }
    const dScale = scaleFor(diff, "rdbu", [-span, span]);
    const sel = b.tokens.slice(b.selection.start, b.selection.end);
    const h = new Heatmap({
      name: "compare-diff",
      label: `Current minus pinned: ${info.label}, layers by tokens`,
      rows: b.layerCount,
      cols: colsB,
      pixels: pixelsFromValues(diff, dScale),
      rowLabel: (l) => `L${l}`,
      colLabel: (c) => tokenLabel(sel[c]),
      describe: (l, c) => `current minus pinned, layer ${l}, token ${c}: ${formatMetric(m, diff[l * colsB + c])}`,
      tooltip: (l, c) => [el("div", { text: `L${l}, token ${c}: current − pinned ${formatMetric(m, diff[l * colsB + c])}` })],
    });
    section.append(
      el("h3", { text: "Difference (current − pinned)" }),
      legend(dScale, `Δ ${info.label}`, (v) => formatMetric(m, v)),
      h.root,
    );
  } else {
    section.append(
      el("p", {
        class: "note",
        text: `No difference view: the probes have ${colsA} and ${colsB} tokens (${a.layerCount} and ${b.layerCount} layers).`,
      }),
    );
  }
  return section;
}

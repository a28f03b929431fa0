// MLP activation sparsity per layer over the probed tokens: exact zeros, |x| below a threshold,
// and PPL-1% / PPL-5% sparsity (the host's binary search with a graph that zeroes small
// activations). Measured on request (several forward passes); drawn as one bar row per layer.
import type { SparsityResult } from "../../src/protocol/lsp";
import { button, el } from "../shared/dom";
import { num, pct } from "../shared/format";
import type { PanelContext } from "./model";

const THRESHOLD = 0.01;
const PS = [1, 5];
/** Measurements of this panel's probes (by probe and tokens), running or done. */
const measurements = new Map<string, Promise<SparsityResult>>();

function chart(r: SparsityResult): HTMLElement {
  const series = [
    { key: "zero", label: "exact 0", value: (l: SparsityResult["layers"][number]) => l.exactZero },
    { key: "below", label: `|x| < ${r.threshold}`, value: (l: SparsityResult["layers"][number]) => l.belowThreshold },
    ...r.ppl.map((p, i) => ({ key: `ppl${p.p}`, label: `PPL-${p.p}%`, value: (l: SparsityResult["layers"][number]) => l.ppl[i] })),
  ];
  const table = el("table", { class: "sparsity-chart", attrs: { "aria-label": "MLP activation sparsity per layer" } });
  const head = el("tr", {}, el("th", { text: "layer" }), ...series.map((s) => el("th", { text: s.label })));
  table.append(head);
  for (const l of r.layers) {
    const tr = el("tr", { data: { layer: l.layer } }, el("th", { text: `L${l.layer}` }));
    for (const s of series) {
      const v = s.value(l);
      const bar = el("span", { class: `bar bar-${s.key}` });
      bar.style.width = `${Math.round(100 * v)}%`; // CSSOM, which the panel's CSP allows (style attributes it does not)
      tr.append(
        el(
          "td",
          { data: { series: s.key, value: v } },
          el("span", { class: "bar-track" }, bar),
          el("span", { class: "bar-label", text: pct(v) }),
        ),
      );
    }
    table.append(tr);
  }
  const lines = r.ppl.map((p) =>
    el("p", {
      class: "muted",
      text: `PPL-${p.p}%: ${pct(p.share)} of the MLP activations (|x| < ${num(p.threshold)}) zeroed, perplexity ${num(p.baseline, 4)} → ${num(p.ppl, 4)}.`,
    }),
  );
  return el("div", {}, table, ...lines);
}

export function sparsityView(ctx: PanelContext): HTMLElement {
  const body = el("div", { class: "view-body" });
  const root = el(
    "section",
    { class: "view", attrs: { "aria-labelledby": "sparsity-title" }, data: { view: "sparsity" } },
    el("h2", { text: "Activation sparsity", attrs: { id: "sparsity-title" } }),
  );
  const ids = ctx.result.tokens.map((t) => t.id);
  const key = `${ctx.result.id ?? ""}:${ids.join(",")}`;
  const show = (pending: Promise<SparsityResult>) => {
    body.replaceChildren(el("p", { class: "muted", text: "Measuring sparsity (a binary search of forward passes)…" }));
    pending.then(
      (r) => body.replaceChildren(chart(r)),
      (e: Error) => body.replaceChildren(el("p", { class: "error", text: e.message })),
    );
  };
  const run = () => {
    const pending = ctx.client.request("introspect/sparsity", { ids, threshold: THRESHOLD, ps: PS });
    measurements.set(key, pending);
    if (measurements.size > 16) measurements.delete(measurements.keys().next().value!);
    pending.catch(() => measurements.get(key) === pending && measurements.delete(key));
    show(pending);
  };
  body.append(
    el("p", {
      class: "muted",
      text: "Share of MLP activations that are 0, small, or can be zeroed with perplexity over this text rising at most 1% or 5%.",
    }),
    button("Measure sparsity", run, "Runs the probed text several times with small activations zeroed"),
  );
  // The panel is drawn again on many events (a theme change, a pin, the rest of the lens arriving):
  // a measurement asked for, running or done, stays on screen through them.
  const earlier = measurements.get(key);
  if (earlier) show(earlier);
  root.append(body);
  return root;
}

// Features view of the probe panel: a dictionary (SAE / transcoder) chosen from the model's
// `saes/` folder or a dialog; a feature x token heatmap of its strongest features over the
// selection; per token its top features, L0 and reconstruction error; a click on a feature tints
// the editor and opens its card (logit-lens tokens, density, top snippets from a corpus, steering).
import type { FeatureReadResult } from "../../src/protocol/featureData";
import { reviveFloat, reviveInt } from "../../src/protocol/probeData";
import { legend, scaleFor } from "../shared/colors";
import { button, el, fmt, select } from "../shared/dom";
import { toCsv } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { exportFile } from "./exporting";
import { openCard } from "./featureCard";
import type { PanelContext } from "./model";

export function featureView(ctx: PanelContext): HTMLElement {
  const root = el("section", { class: "view", attrs: { "aria-labelledby": "features-title" }, data: { view: "features" } });
  const body = el("div", { class: "view-body" });
  const chooser = el("span", { class: "toolbar" });
  root.append(el("h2", { text: "Features (sparse dictionaries)", attrs: { id: "features-title" } }), chooser, body);
  let current = "";

  const load = (path: string) => {
    current = path;
    body.replaceChildren(el("p", { class: "muted", text: "Encoding the probed tokens…" }));
    const r = ctx.result;
    ctx.client
      .request("introspect/featureRead", { path, ids: r.tokens.map((t) => t.id), start: r.selection.start, end: r.selection.end })
      .then(
        (res) => render(ctx, body, revive(res)),
        (e: Error) => body.replaceChildren(el("p", { class: "error", attrs: { role: "alert" }, text: e.message })),
      );
  };

  const fill = (list: Array<{ path: string; name: string }>) => {
    const none = { value: "", label: list.length ? "Choose a dictionary" : "No dictionary beside the model" };
    const sel = select("Dictionary", [none, ...list.map((d) => ({ value: d.path, label: d.name }))], current, (v) => v && load(v));
    sel.select.dataset.control = "feature-dictionary";
    const other = button(
      "Open…",
      () => {
        void ctx.client.request("introspect/featureChoose", {}).then((p) => p.path && load(p.path));
      },
      "A SAELens folder (cfg.json) or a Gemma Scope params.safetensors",
    );
    chooser.replaceChildren(sel.root, other);
  };
  ctx.client.request("introspect/featureList", {}).then(
    (l) => fill(l.dictionaries),
    () => fill([]),
  );
  body.append(el("p", { class: "muted", text: "Choose a dictionary to see which of its features fire on each selected token." }));

  return root;
}

/** The dictionary's reading: feature x token heatmap, per-token table, and the card of a clicked feature. */
function render(ctx: PanelContext, body: HTMLElement, res: FeatureReadResult): void {
  const { reading: rd, dictionary: d } = res;
  const n = ctx.sel.length;
  const k = rd.features.length;
  const all = ctx.result.tokens.length;
  const notes = d.notes.map((t) => el("p", { class: "note", text: t }));
  if (!k) {
    body.replaceChildren(...notes, el("p", { class: "muted", text: `No feature of ${d.name} fires on the selection.` }));
    return;
  }
  const scale = scaleFor(rd.matrix, "viridis");
  const card = el("div", { class: "feature-card", data: { featureCard: "" } });
  const heatmap = new Heatmap({
    name: "features",
    label: `Top ${k} features of ${d.name} at ${d.site}, features by tokens`,
    rows: k,
    cols: n,
    pixels: pixelsFromValues(rd.matrix, scale),
    rowLabel: (i) => `#${rd.features[i]}`,
    colLabel: (c) => tokenLabel(ctx.sel[c]),
    describe: (i, c) => `feature ${rd.features[i]}, token ${quoted(ctx.sel[c].text)}: ${fmt(rd.matrix[i * n + c])}`,
    tooltip: (i, c) => [
      el("div", { class: "tip-title" }, `feature #${rd.features[i]} · `, el("code", { text: quoted(ctx.sel[c].text) })),
      el("div", { text: `activation ${fmt(rd.matrix[i * n + c])}` }),
      el("div", { class: "tip-sub", text: "Click: tint the editor and open the feature's card" }),
    ],
    onSelect: (i) => {
      const f = rd.features[i];
      const values = res.full.slice(i * all, (i + 1) * all);
      ctx.post({ type: "introspect/tint", tint: { label: `${d.name} feature ${f}`, values, signed: false } });
      openCard(ctx, card, d.path, f, rd.max[i]);
    },
  });
  const rows = ctx.sel.map((t, c) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", { text: quoted(t.text) })),
      el("td", { class: "num", text: String(rd.l0[c]) }),
      el("td", { class: "num", text: fmt(rd.relError[c]) }),
      el("td", { text: rd.top[c].map((x) => `#${x.feature} ${fmt(x.value)}`).join("  ") }),
    ),
  );
  const table = el(
    "table",
    { class: "feature-tokens", data: { table: "feature-tokens" } },
    el("thead", {}, el("tr", {}, ...["token", "L0", "rel. error", "top features"].map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows),
  );
  const meanErr = rd.relError.reduce((a, v) => a + v, 0) / Math.max(1, rd.relError.length);
  const meanL0 = rd.l0.reduce((a, v) => a + v, 0) / Math.max(1, rd.l0.length);
  body.replaceChildren(
    ...notes,
    el("p", {
      class: "muted explain",
      text: `${d.name}: ${d.architecture}, ${d.dSae} features on ${d.site}${d.outSite ? ` → ${d.outSite}` : ""}. Mean L0 ${fmt(meanL0)}, mean relative reconstruction error ${fmt(meanErr)}${meanErr > 0.5 ? " (the dictionary explains little of these tokens)" : ""}.`,
      data: { featureSummary: "" },
    }),
    el(
      "div",
      { class: "toolbar" },
      button("CSV", () =>
        exportFile(
          ctx,
          "csv",
          "features.csv",
          toCsv(
            ["feature", ...ctx.sel.map((t, i) => `${i}:${t.text}`)],
            rd.features.map((f, i) => [f, ...Array.from(rd.matrix.subarray(i * n, (i + 1) * n))]),
          ),
        ),
      ),
    ),
    legend(scale, "Activation", (v) => fmt(v)),
    heatmap.root,
    card,
    table,
  );
}

function revive(r: FeatureReadResult): FeatureReadResult {
  const rd = r.reading;
  return {
    ...r,
    full: reviveFloat({ dims: [], data: r.full }).data,
    reading: {
      ...rd,
      matrix: reviveFloat({ dims: [], data: rd.matrix }).data,
      relError: reviveFloat({ dims: [], data: rd.relError }).data,
      max: reviveFloat({ dims: [], data: rd.max }).data,
      l0: reviveInt({ dims: [], data: rd.l0 }).data,
    },
  };
}

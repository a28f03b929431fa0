// Attention of one layer and head: query tokens down (the selection, or the whole prompt), key tokens across.
import type { AttentionData } from "../../src/protocol/probeData";
import { legend, scaleFor } from "../shared/colors";
import { button, el, fmt, select } from "../shared/dom";
import { canvasPng } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { reviveAttention, type PanelContext } from "./model";
import { exportFile } from "./exporting";
import { layerSelect, querySelect, type QueryRows } from "./selects";

export function attentionView(ctx: PanelContext): HTMLElement {
  const r = ctx.result;
  const root = el("section", { class: "view", attrs: { "aria-labelledby": "attn-title" }, data: { view: "attention" } });
  root.append(el("h2", { text: "Attention", attrs: { id: "attn-title" } }));
  const body = el("div", { class: "view-body" });
  let att: AttentionData | undefined = r.attention;
  if (!att) {
    root.append(el("p", { class: "note", data: { attentionNote: "" }, text: "Attention patterns were not captured for this probe." }));
    return root;
  }
  let heatmap: Heatmap | undefined;
  const numHeads = Math.max(1, att.numHeads);
  let layer = att.layer;
  let head = att.head;
  let queries: QueryRows = "selection";
  const request = (): void => {
    body.replaceChildren(el("p", { class: "muted", text: `Loading layer ${layer}, head ${head}…` }));
    ctx.client.request("introspect/probeAttention", { layer, head, queries }).then(
      (a) => {
        att = reviveAttention(a);
        render();
      },
      (e: Error) => body.replaceChildren(el("p", { class: "error", text: e.message })),
    );
  };
  const layerSel = layerSelect(r.layerCount, layer, "attn-layer", (l) => {
    layer = l;
    request();
  });
  const headSel = select(
    "Head",
    Array.from({ length: numHeads }, (_, h) => ({ value: String(h), label: `H${h}` })),
    String(head),
    (v) => {
      head = Number(v);
      request();
    },
  );
  headSel.select.dataset.control = "attn-head";
  const querySel = querySelect(queries, "attn-queries", (q) => {
    queries = q;
    request();
  });
  root.append(
    el(
      "div",
      { class: "toolbar" },
      layerSel.root,
      headSel.root,
      querySel.root,
      button(
        "PNG",
        () => heatmap && void canvasPng(heatmap.canvas).then((png) => exportFile(ctx, "png", `attention-L${layer}-H${head}.png`, png)),
      ),
    ),
    body,
  );

  function render(): void {
    if (!att) return;
    if (att.kind === "unavailable") {
      heatmap = undefined;
      body.replaceChildren(el("p", { class: "note", data: { attentionNote: "" }, text: att.reason }));
      return;
    }
    const [q, keys] = att.pattern.dims;
    const values = att.pattern.data;
    const scale = scaleFor(values, "magma", [0, Math.max(1e-6, maxOf(values))]);
    const a = att;
    const q0 = a.queryStart ?? r.selection.start;
    const query = (i: number) => r.tokens[q0 + i];
    heatmap = new Heatmap({
      name: "attention",
      label: `Attention of layer ${a.layer} head ${a.head}, query tokens by key tokens`,
      rows: q,
      cols: keys,
      pixels: pixelsFromValues(causal(values, q, keys, q0), scale),
      rowLabel: (i) => tokenLabel(query(i)).slice(0, 12),
      colLabel: (k) => tokenLabel(r.tokens[k]),
      describe: (i, k) => `${quoted(query(i).text)} attends to ${quoted(r.tokens[k].text)}: ${fmt(values[i * keys + k])}`,
      tooltip: (i, k) => [
        el(
          "div",
          { class: "tip-title" },
          "query ",
          el("code", { text: quoted(query(i).text) }),
          " → key ",
          el("code", { text: quoted(r.tokens[k].text) }),
        ),
        el("div", { text: `weight ${fmt(values[i * keys + k])} (L${a.layer} H${a.head})` }),
      ],
      maxCellW: 20,
      cellH: Math.max(1, Math.min(16, Math.floor(600 / Math.max(1, q)))),
    });
    body.replaceChildren(
      legend(scale, "Attention weight", (v) => fmt(v)),
      heatmap.root,
    );
  }
  render();
  return root;
}

function maxOf(v: Float32Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) if (v[i] > m) m = v[i];
  return m;
}

/** Keys after the query are masked by causality: shown as empty (NaN) rather than as a zero weight. */
function causal(v: Float32Array, q: number, keys: number, start: number): Float32Array {
  const out = v.slice();
  for (let i = 0; i < q; i++) out.fill(NaN, i * keys + start + i + 1, (i + 1) * keys);
  return out;
}

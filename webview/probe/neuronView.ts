// Neuron x token heatmap of one layer's top-k MLP neurons (diverging: activations are signed).
// Clicking a neuron shows its activation over the whole probed text and tints the editor.
import type { NeuronData } from "../../src/protocol/probeData";
import { cssColor, legend, parseColor, scaleFor, textOn, themePalette, type ColorScale } from "../shared/colors";
import { button, el, fmt } from "../shared/dom";
import { canvasPng, toCsv } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { quoted, tokenLabel } from "../shared/tokens";
import { reviveNeurons, type PanelContext } from "./model";
import { exportFile } from "./exporting";
import { layerSelect } from "./selects";

const TEXT_LIMIT = 4096;

export function neuronView(ctx: PanelContext): HTMLElement {
  const r = ctx.result;
  const body = el("div", { class: "view-body" });
  const root = el("section", { class: "view", attrs: { "aria-labelledby": "neurons-title" }, data: { view: "neurons" } });
  root.append(el("h2", { text: "MLP neurons", attrs: { id: "neurons-title" } }));
  if (!r.neurons) {
    root.append(
      el("p", { class: "note", text: "This model's graph does not expose MLP activations (mlp.hook_post), so there is no neuron view." }),
    );
    return root;
  }
  let data: NeuronData = r.neurons;
  let heatmap: Heatmap | undefined;
  const layerSel = layerSelect(r.layerCount, data.layer, "neuron-layer", (l) => {
    body.replaceChildren(el("p", { class: "muted", text: `Ranking the neurons of layer ${l}…` }));
    ctx.client.request("introspect/probeNeurons", { layer: l, k: data.neurons.length }).then(
      (n) => {
        data = reviveNeurons(n);
        render();
      },
      (e: Error) => body.replaceChildren(el("p", { class: "error", text: e.message })),
    );
  });
  root.append(
    el(
      "div",
      { class: "toolbar" },
      layerSel.root,
      button(
        "PNG",
        () => heatmap && void canvasPng(heatmap.canvas).then((png) => exportFile(ctx, "png", `neurons-L${data.layer}.png`, png)),
      ),
      button("CSV", () => exportFile(ctx, "csv", `neurons-L${data.layer}.csv`, neuronCsv(ctx, data))),
    ),
    body,
  );

  function render(): void {
    const k = data.neurons.length;
    const all = data.values.dims[1];
    const n = ctx.sel.length;
    // Columns are the selected tokens; the full rows (context included) feed the text view and the tint.
    const vals = new Float32Array(k * n);
    for (let i = 0; i < k; i++) vals.set(data.values.data.subarray(i * all + r.selection.start, i * all + r.selection.end), i * n);
    const scale = scaleFor(vals, "rdbu");
    const detail = el(
      "div",
      { class: "neuron-text", data: { neuronText: "" } },
      el("p", { class: "muted", text: "Click a neuron (row) to see its activation over the whole probed text and tint the editor." }),
    );
    heatmap = new Heatmap({
      name: "neurons",
      label: `Top ${k} neurons of layer ${data.layer} by max |activation|, neurons by tokens`,
      rows: k,
      cols: n,
      pixels: pixelsFromValues(vals, scale),
      rowLabel: (i) => `n${data.neurons[i]}`,
      colLabel: (c) => tokenLabel(ctx.sel[c]),
      describe: (i, c) => `neuron ${data.neurons[i]}, token ${quoted(ctx.sel[c].text)}: ${fmt(vals[i * n + c])}`,
      tooltip: (i, c) => [
        el("div", { class: "tip-title" }, `L${data.layer} neuron ${data.neurons[i]} · `, el("code", { text: quoted(ctx.sel[c].text) })),
        el("div", { text: `activation ${fmt(vals[i * n + c])}` }),
        el("div", { class: "tip-sub", text: "Click: show over the whole text and tint the editor" }),
      ],
      onSelect: (i) => {
        const row = data.values.data.slice(i * all, (i + 1) * all);
        detail.replaceChildren(...neuronText(ctx, row, scaleFor(row, "rdbu"), `L${data.layer} neuron ${data.neurons[i]}`));
        ctx.post({ type: "introspect/tint", tint: { label: `L${data.layer} neuron ${data.neurons[i]}`, values: row, signed: true } });
      },
    });
    body.replaceChildren(
      el("p", {
        class: "muted explain",
        text: `The ${k} of ${data.dMlp} neurons of blocks.${data.layer}.mlp.hook_post with the largest |activation| over the selection.`,
      }),
      legend(scale, "Activation", (v) => fmt(v)),
      heatmap.root,
      detail,
    );
  }
  render();
  return root;
}

function neuronText(ctx: PanelContext, values: Float32Array, scale: ColorScale, label: string): Node[] {
  const toks = ctx.result.tokens;
  const shown = Math.min(toks.length, TEXT_LIMIT);
  const palette = themePalette();
  const strip = el("div", { class: "token-strip tinted", attrs: { role: "list", "aria-label": `${label} over the probed text` } });
  for (let i = 0; i < shown; i++) {
    const chip = el("span", {
      class: "token" + (toks[i].selected ? " in-selection" : ""),
      text: tokenLabel(toks[i]),
      attrs: { role: "listitem" },
    });
    const bg = cssColor(scale, values[i]);
    chip.style.backgroundColor = bg;
    // The theme's text or page colour, whichever reads better on the tint.
    chip.style.color = bg === "transparent" ? "" : textOn(parseColor(bg), palette);
    chip.title = `${quoted(toks[i].text)}: ${fmt(values[i])}`;
    strip.append(chip);
  }
  const out: Node[] = [el("h3", { text: `${label} over the probed text` }), strip];
  if (shown < toks.length)
    out.push(el("p", { class: "muted", text: `First ${shown} of ${toks.length} tokens shown; the editor tint covers all.` }));
  return out;
}

function neuronCsv(ctx: PanelContext, d: NeuronData): string {
  const all = d.values.dims[1];
  const header = ["neuron", ...ctx.result.tokens.slice(0, all).map((t, i) => `${i}:${t.text}`)];
  const rows = Array.from(d.neurons, (nIdx, i) => [nIdx, ...Array.from(d.values.data.subarray(i * all, (i + 1) * all))]);
  return toCsv(header, rows);
}

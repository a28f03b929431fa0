// Per-layer weights of one vector (the "Guiding Giants" form): the vector is added at every layer
// with a weight of its own, the slider's strength multiplying all of them. One number per layer of
// the model with a bar showing it, presets for common shapes, Apply / Own layer only. Nothing is
// sent until Apply, so typing a weight does not restart the generation on every key.
import { button, el, fmt } from "../shared/dom";
import type { SteerRow } from "../../src/protocol/steerData";

export type LayerWeights = { layer: number; weight: number }[];

/** The layer a site name belongs to (blocks.{L}.…), or 0. */
export function ownLayer(site: string): number {
  return Number(/^blocks\.(\d+)\./.exec(site)?.[1] ?? 0);
}

/** How the row names where the vector is added: its site, or its weighted layers. */
export function siteLabel(r: SteerRow): string {
  const w = r.info.layerWeights;
  if (!w?.length) return r.info.site;
  const kind = r.info.site.replace(/^blocks\.\d+\./, "");
  return `${kind} at ${w.map((x) => `L${x.layer}×${fmt(x.weight, 3)}`).join(" ")}`;
}

/** Preset shapes over `n` layers around the vector's own layer. */
export const PRESETS: { label: string; title: string; weights(own: number, n: number): number[] }[] = [
  {
    label: "Own layer",
    title: "Weight 1 at the layer it was built at, 0 elsewhere",
    weights: (own, n) => spread(n, (l) => (l === own ? 1 : 0)),
  },
  {
    label: "Triangle",
    title: "1 at its own layer, falling by 0.5 per layer to either side",
    weights: (own, n) => spread(n, (l) => Math.max(0, 1 - 0.5 * Math.abs(l - own))),
  },
  {
    label: "Uniform",
    title: "Every layer the same, 1/n each (the total added is one vector's worth)",
    weights: (_o, n) => spread(n, () => 1 / n),
  },
  { label: "From here on", title: "1 at its own layer and every later one", weights: (own, n) => spread(n, (l) => (l >= own ? 1 : 0)) },
];

function spread(n: number, f: (layer: number) => number): number[] {
  return Array.from({ length: n }, (_, l) => Number(f(l).toFixed(4)));
}

/**
 * The editor for row `index`. `apply` gets the weights to send: null when they are "own layer
 * only at weight 1" (the vector's plain form), else the non-zero layers.
 */
export function layerEditor(r: SteerRow, index: number, numLayers: number, apply: (w: LayerWeights | null) => void): HTMLElement {
  const own = ownLayer(r.info.site);
  const start = new Array<number>(numLayers).fill(0);
  if (r.info.layerWeights?.length) {
    for (const w of r.info.layerWeights) if (w.layer < numLayers) start[w.layer] = w.weight;
  } else if (own < numLayers) start[own] = 1;

  const inputs: HTMLInputElement[] = [];
  const bars: HTMLElement[] = [];
  const redraw = () => {
    const vals = inputs.map((i) => Number(i.value) || 0);
    const max = Math.max(1e-9, ...vals.map(Math.abs));
    vals.forEach((v, l) => {
      bars[l].style.height = `${Math.round((18 * Math.abs(v)) / max)}px`;
      bars[l].classList.toggle("neg", v < 0);
    });
  };
  const cells = start.map((w, l) => {
    const input = el("input", {
      class: "lw-input",
      attrs: {
        type: "number",
        step: "0.1",
        id: `lw-${index}-${l}`,
        "aria-label": `Weight of layer ${l} for ${r.info.name}`,
      },
      data: { layer: l },
    });
    input.value = String(w);
    input.addEventListener("input", redraw);
    inputs.push(input);
    const bar = el("span", { class: "lw-bar" });
    bars.push(bar);
    return el(
      "label",
      { class: "lw-cell" + (l === own ? " own" : ""), attrs: { title: l === own ? "The layer it was built at" : `Layer ${l}` } },
      el("span", { class: "lw-barbox" }, bar),
      el("span", { class: "lw-layer muted", text: `L${l}` }),
      input,
    );
  });
  const setAll = (vals: number[]) => {
    vals.forEach((v, l) => (inputs[l].value = String(v)));
    redraw();
  };
  const send = () => {
    const vals = inputs.map((i) => Number(i.value));
    const bad = vals.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      inputs[bad].focus();
      return;
    }
    const plain = vals.every((v, l) => v === (l === own ? 1 : 0));
    apply(plain ? null : vals.map((weight, layer) => ({ layer, weight })).filter((w) => w.weight !== 0));
  };
  const root = el(
    "div",
    { class: "layer-weights", attrs: { role: "group", "aria-label": `Layer weights of ${r.info.name}` }, data: { id: r.info.id } },
    el("div", { class: "lw-presets" }, ...PRESETS.map((p) => button(p.label, () => setAll(p.weights(own, numLayers)), p.title))),
    el("div", { class: "lw-grid" }, ...cells),
    el(
      "div",
      { class: "lw-actions" },
      el("span", { class: "muted", text: "Each layer adds weight × strength × vector." }),
      el("span", {}, button("Apply", send, "Apply these weights (restarts the steered run)")),
    ),
  );
  redraw();
  return root;
}

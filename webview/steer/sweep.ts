// The sweep grid: layers (rows) x strengths (columns); each cell tinted by its score and showing
// the start of its continuation, so one sees where a vector works before the text degenerates.
import { cssColor, onThemeChange, scaleFor } from "../shared/colors";
import { button, el, fmt } from "../shared/dom";
import type { SteerSweepResult } from "../../src/protocol/steerData";

export function sweepView(): { root: HTMLElement; show(r: SteerSweepResult | null): void } {
  const root = el("section", { class: "sweep", attrs: { id: "sweep" } });
  root.hidden = true;
  let last: SteerSweepResult | null = null;
  // The tints are made of the theme's colours: repaint a shown sweep after a theme switch.
  onThemeChange(() => !root.hidden && last && view.show(last));
  const view = {
    root,
    show(r: SteerSweepResult | null) {
      last = r;
      if (!r) {
        root.hidden = true;
        root.replaceChildren();
        return;
      }
      const scale = scaleFor(Float32Array.from(r.scores), "sequential");
      const head = el(
        "tr",
        {},
        el("th", { text: "layer \\ strength" }),
        ...r.alphas.map((a) => el("th", { class: "mono", text: fmt(a, 3) })),
      );
      const body = r.layers.map((layer, li) =>
        el(
          "tr",
          {},
          el("th", { class: "mono", text: String(layer) }),
          ...r.alphas.map((a, ai) => {
            const k = li * r.alphas.length + ai;
            const swatch = el("span", { class: "score-swatch" });
            swatch.style.background = cssColor(scale, r.scores[k]);
            return el(
              "td",
              { attrs: { title: `layer ${layer}, strength ${a}: ${r.scoreLabel} = ${fmt(r.scores[k], 4)}\n${r.texts[k]}` } },
              el("div", { class: "score mono" }, swatch, fmt(r.scores[k], 3)),
              el("div", { class: "cell-text", text: r.texts[k] }),
            );
          }),
        ),
      );
      root.replaceChildren(
        el("h2", { text: `Sweep · ${r.vector}` }),
        el("p", {
          class: "muted",
          text: `${r.scoreLabel} on the first token (unsteered: ${fmt(r.baseline, 4)}); each cell continues a few tokens.`,
        }),
        el("div", { class: "sweep-scroll" }, el("table", { class: "sweep-grid" }, el("thead", {}, head), el("tbody", {}, ...body))),
        button("Close sweep", () => {
          root.hidden = true;
        }),
      );
      root.hidden = false;
      root.scrollIntoView({ block: "nearest" });
    },
  };
  return view;
}

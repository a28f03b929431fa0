// The key to the tints of the two continuations: the first token where they differ (outlined) and
// the tokens after it on each side (tinted by side, purple steered and blue unsteered, as in the
// plot below). Hidden until a generation has a difference.
import { el } from "../shared/dom";

export function diffLegend(): { root: HTMLElement; show(first: number | undefined): void } {
  const item = (cls: string, text: string) => el("span", { class: "legend-item" }, el("span", { class: `diff-swatch ${cls}` }), text);
  const root = el(
    "div",
    { class: "legend diff-legend", attrs: { id: "diff-legend", "aria-label": "Key to the marked tokens" } },
    item("first steered", "first token that differs"),
    item("steered", "steered, from there on"),
    item("unsteered", "unsteered, from there on"),
  );
  root.hidden = true;
  return {
    root,
    show(first) {
      root.hidden = first === undefined;
      root.dataset.firstDifference = first === undefined ? "" : String(first + 1);
    },
  };
}

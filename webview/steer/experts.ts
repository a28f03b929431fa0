// Expert interventions beside the vectors: one row each with a toggle, its label and a remove
// button; router biases also get a strength slider (a multiple of the bias, 0 to 3). Rebuilt only
// when the set of rows changes, so a slider being dragged stays under the pointer.
import { button, el, fmt } from "../shared/dom";
import type { SteerAction, SteerExpertRow } from "../../src/protocol/steerData";

export interface ExpertRowsView {
  root: HTMLElement;
  update(rows: SteerExpertRow[]): void;
  values(): { id: string; enabled: boolean; scale?: number }[];
}

export function expertRowsView(onChange: () => void, onAction: (a: SteerAction) => void): ExpertRowsView {
  const list = el("div", { class: "experts", attrs: { id: "experts", role: "list", "aria-label": "Expert interventions" } });
  const title = el("h2", { text: "Experts" });
  const root = el("section", { class: "experts-section" }, title, list);
  root.hidden = true;
  let key = "";
  let current: { id: string; toggle: HTMLInputElement; slider?: HTMLInputElement }[] = [];

  function row(r: SteerExpertRow): HTMLElement {
    const toggle = el("input", { attrs: { type: "checkbox", class: "toggle", "aria-label": `Apply ${r.label}` } });
    toggle.checked = r.enabled;
    const label = el("span", { class: "expert-label mono", text: r.label });
    const item = el("div", {
      class: "expert-row" + (r.enabled ? "" : " off"),
      attrs: { role: "listitem" },
      data: { id: r.id, kind: r.intervention.kind },
    });
    let slider: HTMLInputElement | undefined;
    const changed = () => {
      item.classList.toggle("off", !toggle.checked);
      onChange();
    };
    toggle.addEventListener("change", changed);
    const head = el(
      "div",
      { class: "vector-head" },
      toggle,
      label,
      button("Remove", () => onAction({ kind: "removeExpert", id: r.id }), "Remove this intervention"),
    );
    item.append(head);
    if (r.intervention.kind === "bias") {
      const s = el("input", {
        class: "slider",
        attrs: { type: "range", min: "0", max: "3", step: "0.1", "aria-label": `Strength of ${r.label}` },
      });
      s.value = String(r.intervention.scale ?? 1);
      const out = el("output", { class: "alpha mono", text: fmt(Number(s.value), 3) });
      s.addEventListener("input", () => {
        out.textContent = fmt(Number(s.value), 3);
        changed();
      });
      item.append(el("div", { class: "slider-row" }, s, out));
      slider = s;
    }
    current.push({ id: r.id, toggle, slider });
    return item;
  }

  return {
    root,
    update(rows) {
      root.hidden = rows.length === 0;
      const k = rows.map((r) => r.id).join("|");
      if (k === key) {
        for (const c of current) {
          const r = rows.find((x) => x.id === c.id);
          if (r && document.activeElement !== c.toggle) c.toggle.checked = r.enabled;
        }
        return;
      }
      key = k;
      current = [];
      list.replaceChildren(...rows.map(row));
    },
    values: () => current.map((c) => ({ id: c.id, enabled: c.toggle.checked, ...(c.slider ? { scale: Number(c.slider.value) } : {}) })),
  };
}

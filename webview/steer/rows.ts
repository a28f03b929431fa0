// The vector list: one row per vector with its toggle, name, site, slider (double-click resets
// to 0) and buttons. Rows are rebuilt only when the set of vectors or the settings change, so a
// slider being dragged is never replaced under the pointer. "Layers…" opens the row's per-layer
// weight editor (layers.ts), which stays open across redraws.
import { button, el, fmt } from "../shared/dom";
import type { SteerAction, SteerRow, SteerSettings } from "../../src/protocol/steerData";
import { layerEditor, siteLabel } from "./layers";

export interface RowsView {
  root: HTMLElement;
  /** Draws the rows when their identity changed; otherwise only updates values. */
  update(rows: SteerRow[], settings: SteerSettings, numLayers?: number): void;
  values(): { id: string; alpha: number; enabled: boolean }[];
}

export function rowsView(onChange: () => void, onAction: (a: SteerAction) => void): RowsView {
  const list = el("div", { class: "vectors", attrs: { id: "vectors", role: "list", "aria-label": "Steering vectors" } });
  const root = el("section", { class: "vectors-section" }, list);
  let key = "";
  let current: { id: string; slider: HTMLInputElement; toggle: HTMLInputElement; value: HTMLOutputElement }[] = [];
  /** Rows whose layer editor is open. */
  const editing = new Set<string>();

  function row(r: SteerRow, s: SteerSettings, i: number, numLayers: number | undefined): HTMLElement {
    const id = r.info.id;
    const toggle = el("input", { attrs: { type: "checkbox", "aria-label": `Apply ${r.info.name}`, class: "toggle" } });
    toggle.checked = r.enabled;
    const slider = el("input", {
      class: "slider",
      attrs: {
        type: "range",
        min: String(-s.range),
        max: String(s.range),
        step: String(s.step),
        id: `alpha-${i}`,
        "aria-label": `Strength of ${r.info.name}`,
        title: "Double-click to reset to 0",
      },
      data: { id },
    });
    slider.value = String(r.alpha);
    const value = el("output", { class: "alpha mono", text: fmt(r.alpha, 3), attrs: { for: `alpha-${i}` } });
    const changed = () => {
      value.textContent = fmt(Number(slider.value), 3);
      item.classList.toggle("off", !toggle.checked);
      onChange();
    };
    slider.addEventListener("input", changed);
    slider.addEventListener("dblclick", () => {
      slider.value = "0";
      changed();
    });
    toggle.addEventListener("change", changed);
    const norm = r.info.rawNorm !== undefined ? ` · norm ${fmt(r.info.rawNorm, 3)}${r.info.normalised ? " (normalised)" : ""}` : "";
    const item = el(
      "div",
      { class: "vector" + (r.enabled ? "" : " off") + (r.error ? " broken" : ""), attrs: { role: "listitem" }, data: { id } },
      el(
        "div",
        { class: "vector-head" },
        toggle,
        el("span", { class: "name", text: r.info.name, attrs: { title: r.info.source ?? r.info.name } }),
        el("span", { class: "site mono muted", text: siteLabel(r), attrs: { title: siteLabel(r) } }),
      ),
      el("div", { class: "vector-slider" }, slider, value),
      el(
        "div",
        { class: "vector-meta muted" },
        el("span", { text: `${r.info.method} · d=${r.info.dim}${norm}${r.file ? ` · ${r.file}` : ""}` }),
        el(
          "span",
          { class: "row-buttons" },
          numLayers
            ? button(
                "Layers…",
                () => {
                  const open = item.querySelector(".layer-weights");
                  if (open) {
                    open.remove();
                    editing.delete(id);
                  } else {
                    editing.add(id);
                    item.append(editor());
                  }
                },
                "Apply the vector over several layers, with a weight per layer",
              )
            : null,
          button("Negate", () => onAction({ kind: "negate", id }), "Add the negated vector as a new row"),
          button("Sweep…", () => onAction({ kind: "sweep", id }), "Generate at several strengths and layers"),
          button("Save…", () => onAction({ kind: "save", id }), "Save as an .ivec file"),
          button("✕", () => onAction({ kind: "remove", id }), `Remove ${r.info.name} from the panel`),
        ),
      ),
      r.error ? el("p", { class: "error", text: r.error }) : null,
    );
    const editor = () => layerEditor(r, i, numLayers ?? 0, (weights) => onAction({ kind: "layers", id, weights }));
    if (numLayers && editing.has(id)) item.append(editor());
    current.push({ id, slider, toggle, value });
    return item;
  }

  return {
    root,
    update(rows, s, numLayers) {
      const k = JSON.stringify([
        rows.map((r) => [r.info.id, r.error ?? "", r.file ?? "", r.info.layerWeights ?? []]),
        s.range,
        s.step,
        numLayers,
      ]);
      if (k === key) {
        for (const r of rows) {
          const c = current.find((x) => x.id === r.info.id);
          if (c && document.activeElement !== c.slider && Number(c.slider.value) !== r.alpha) {
            c.slider.value = String(r.alpha);
            c.value.textContent = fmt(r.alpha, 3);
          }
          if (c && c.toggle.checked !== r.enabled) c.toggle.checked = r.enabled;
        }
        return;
      }
      key = k;
      current = [];
      if (rows.length === 0) {
        list.replaceChildren(
          el("p", {
            class: "muted empty",
            text: "No vectors yet. Click “Build steering vector” above a contrast block in a .introspect file, or load a vector file.",
          }),
        );
        return;
      }
      for (const id of editing) if (!rows.some((r) => r.info.id === id)) editing.delete(id);
      list.replaceChildren(...rows.map((r, i) => row(r, s, i, numLayers)));
    },
    values: () => current.map((c) => ({ id: c.id, alpha: Number(c.slider.value), enabled: c.toggle.checked })),
  };
}

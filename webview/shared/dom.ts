// DOM helpers for webviews. Text always goes in through textContent / text nodes, never HTML:
// token strings come from model vocabularies and can contain anything, `<script>` included.

type Child = Node | string | null | undefined | false;

export interface ElOptions {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
  data?: Record<string, string | number>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, opts: ElOptions = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (opts.class) e.className = opts.class;
  if (opts.text !== undefined) e.textContent = opts.text;
  for (const [k, v] of Object.entries(opts.attrs ?? {})) e.setAttribute(k, v);
  for (const [k, v] of Object.entries(opts.data ?? {})) e.dataset[k] = String(v);
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) e.append(typeof c === "string" ? document.createTextNode(c) : c);
  return e;
}

/** A labelled <select>; returns the wrapper and the select. */
export function select(
  label: string,
  options: { value: string; label: string }[],
  value: string,
  onChange: (v: string) => void,
): { root: HTMLLabelElement; select: HTMLSelectElement } {
  const s = el("select");
  for (const o of options) {
    const opt = el("option", { text: o.label, attrs: { value: o.value } });
    s.append(opt);
  }
  s.value = value;
  s.addEventListener("change", () => onChange(s.value));
  return { root: el("label", { class: "control" }, label + " ", s), select: s };
}

export function button(label: string, onClick: () => void, title?: string): HTMLButtonElement {
  const b = el("button", { text: label, attrs: title ? { title, type: "button" } : { type: "button" } });
  b.addEventListener("click", onClick);
  return b;
}

/** Formats a number compactly for tooltips and tables (the panels' one format: ./format.ts). */
export { num as fmt } from "./format";

/** Colour of a CSS custom property as the browser resolves it (theme-aware), with a fallback. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

// One floating tooltip per page, filled with DOM nodes (text only) and placed inside the viewport.
import { el } from "./dom";

let tip: HTMLDivElement | undefined;

function node(): HTMLDivElement {
  if (!tip) {
    tip = el("div", { class: "tooltip", attrs: { role: "tooltip", id: "introspect-tooltip" } });
    tip.hidden = true;
    document.body.append(tip);
  }
  return tip;
}

/** Shows `content` near viewport point (x, y). */
export function showTooltip(x: number, y: number, content: Node[]): void {
  const t = node();
  t.replaceChildren(...content);
  t.hidden = false;
  const pad = 12;
  const w = t.offsetWidth;
  const h = t.offsetHeight;
  const left = x + pad + w > window.innerWidth ? Math.max(0, x - pad - w) : x + pad;
  const top = y + pad + h > window.innerHeight ? Math.max(0, y - pad - h) : y + pad;
  t.style.left = `${left}px`;
  t.style.top = `${top}px`;
}

export function hideTooltip(): void {
  if (tip) tip.hidden = true;
}

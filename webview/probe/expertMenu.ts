// Context menu on a cell of the expert view: switch one of the cell's experts off, force another
// expert on at that token, or bias the router towards / away from an expert. The choice goes to the
// extension, which lists it in the steering panel and restarts its side-by-side generation.
import type { MoeData } from "../../src/protocol/probeData";
import type { ExpertIntervention } from "../../src/engine/shapes";
import { describeIntervention } from "../../src/protocol/experts";
import { el } from "../shared/dom";
import type { PanelContext } from "./model";

/** Most experts offered for forcing in one menu (larger models: the cell's experts only). */
const FORCE_LIST = 16;

export function attachExpertMenu(ctx: PanelContext, heatmapRoot: HTMLElement, moe: MoeData): void {
  const canvas = heatmapRoot.querySelector("canvas");
  if (!canvas) return;
  const n = ctx.sel.length;
  const E = moe.numExperts;
  let menu: HTMLElement | undefined;
  const close = () => {
    menu?.remove();
    menu = undefined;
  };
  const status = el("p", { class: "muted expert-status", attrs: { role: "status", id: "expert-status" } });
  heatmapRoot.after(status);

  const open = (x: number, y: number, layer: number, col: number) => {
    close();
    const routed = Array.from({ length: moe.k }, (_, j) => moe.experts.data[(layer * n + col) * moe.k + j]);
    const pos = ctx.result.selection.start + col;
    const items: ExpertIntervention[] = [
      ...routed.map((e): ExpertIntervention => ({ kind: "off", layer, expert: e })),
      ...(E <= FORCE_LIST ? Array.from({ length: E }, (_, e) => e).filter((e) => !routed.includes(e)) : []).map(
        (e): ExpertIntervention => ({ kind: "force", layer, expert: e, positions: [pos] }),
      ),
      ...routed.map((e): ExpertIntervention => ({ kind: "bias", layer, values: oneHot(E, e, -2) })),
    ];
    menu = el("div", { class: "expert-menu", attrs: { role: "menu", "aria-label": `Experts of layer ${layer}` } });
    for (const iv of items) {
      const text =
        iv.kind === "off"
          ? `Switch off expert ${iv.expert} in layer ${layer}`
          : iv.kind === "force"
            ? `Force expert ${iv.expert} on this token (position ${pos})`
            : `Bias layer ${layer} away from expert ${iv.kind === "bias" ? iv.values.findIndex((v) => v !== 0) : ""}`;
      const b = el("button", { class: "expert-menu-item", text, attrs: { role: "menuitem", type: "button" }, data: { action: iv.kind } });
      b.addEventListener("click", () => {
        close();
        status.textContent = `Adding ${describeIntervention(iv)} to the steering panel…`;
        ctx.client.request("introspect/expertIntervene", { intervention: iv }).then(
          (r) => (status.textContent = `${r.label}: in the steering panel (its steered side).`),
          (e: Error) => (status.textContent = `Could not add it: ${e.message}`),
        );
      });
      menu.append(b);
    }
    menu.style.left = `${x}px`;
    menu.style.top = `${y}px`;
    document.body.append(menu);
    (menu.querySelector("button") as HTMLButtonElement | null)?.focus();
    menu.addEventListener("keydown", (ev) => ev.key === "Escape" && close());
  };

  canvas.addEventListener("contextmenu", (ev) => {
    const hover = heatmapRoot.dataset.hover;
    if (!hover) return;
    ev.preventDefault();
    const [layer, col] = hover.split(",").map(Number);
    open(ev.clientX, ev.clientY, layer, col);
  });
  // Keyboard: the context-menu key or Shift+F10 opens it on the focused cell.
  canvas.addEventListener("keydown", (ev) => {
    if (ev.key !== "ContextMenu" && !(ev.key === "F10" && ev.shiftKey)) return;
    const f = heatmapRoot.dataset.focus;
    if (!f) return;
    ev.preventDefault();
    const [layer, col] = f.split(",").map(Number);
    const r = canvas.getBoundingClientRect();
    open(r.left + 20, r.top + 20, layer, col);
  });
  document.addEventListener("mousedown", (ev) => menu && !menu.contains(ev.target as Node) && close());
}

function oneHot(E: number, e: number, v: number): number[] {
  const out = new Array<number>(E).fill(0);
  out[e] = v;
  return out;
}

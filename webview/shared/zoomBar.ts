// The zoom bar above a heatmap: zoom in / out / all, the range shown, and an overview track whose
// window can be dragged (pan) or drawn anew (brush: drag on the track outside the window). Long
// prompts stay readable: zoom in and the column labels come back (heatmap.ts thins them to fit).
import { button, el } from "./dom";

/** Below this many columns the bar is hidden (everything fits); zoomTo still works. */
const MIN_COLS = 24;

export class ZoomBar {
  readonly root: HTMLDivElement;
  private readonly range: HTMLSpanElement;
  private readonly track: HTMLDivElement;
  private readonly window: HTMLDivElement;
  private start = 0;
  private end: number;

  constructor(
    private readonly cols: number,
    private readonly onZoom: (start: number, end: number) => void,
  ) {
    this.end = cols;
    this.range = el("span", { class: "muted zoom-range", attrs: { role: "status" } });
    this.window = el("div", { class: "zoom-window" });
    this.track = el(
      "div",
      { class: "zoom-track", attrs: { title: "Drag the window to pan; drag elsewhere on the track to pick a range" } },
      this.window,
    );
    const zoomIn = button(
      "+",
      () => this.scale(0.5),
      "Zoom in (or Ctrl + wheel over the heatmap; Shift + drag across columns zooms into them)",
    );
    const zoomOut = button("−", () => this.scale(2), "Zoom out");
    const all = button("All", () => this.onZoom(0, this.cols), "Show every column");
    zoomIn.dataset.zoom = "in";
    zoomOut.dataset.zoom = "out";
    all.dataset.zoom = "all";
    this.root = el("div", { class: "zoom-bar" }, zoomIn, zoomOut, all, this.track, this.range);
    if (cols < MIN_COLS) this.root.hidden = true;
    this.bindTrack();
    this.show(0, cols);
  }

  /**
   * The minimap: the whole grid (`source`, one pixel per cell) squeezed into the track under the
   * window, so the strip shows where the strong columns are and which part is in view.
   */
  overview(source: HTMLCanvasElement): void {
    if (this.root.hidden) return;
    // An image, not a canvas: "[data-heatmap] canvas" keeps naming the heatmap itself.
    const c = document.createElement("canvas");
    c.width = Math.min(source.width, 1024);
    c.height = Math.min(source.height, 32);
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(source, 0, 0, c.width, c.height);
    const map = el("img", { class: "zoom-minimap", attrs: { alt: "", src: c.toDataURL("image/png") }, data: { cols: this.cols } });
    this.track.prepend(map);
  }

  show(start: number, end: number): void {
    this.start = start;
    this.end = end;
    this.range.textContent = end - start === this.cols ? `all ${this.cols} columns` : `columns ${start}–${end - 1} of ${this.cols}`;
    this.window.style.left = `${(100 * start) / this.cols}%`;
    this.window.style.width = `${Math.max(0.5, (100 * (end - start)) / this.cols)}%`;
  }

  private scale(f: number): void {
    const width = Math.max(1, Math.min(this.cols, Math.round((this.end - this.start) * f)));
    const mid = (this.start + this.end) / 2;
    const start = Math.max(0, Math.min(this.cols - width, Math.round(mid - width / 2)));
    this.onZoom(start, start + width);
  }

  private colAt(clientX: number): number {
    const r = this.track.getBoundingClientRect();
    return Math.max(0, Math.min(this.cols, Math.round(((clientX - r.left) / Math.max(1, r.width)) * this.cols)));
  }

  private bindTrack(): void {
    let drag: { mode: "pan"; from: number; start: number } | { mode: "brush"; from: number } | undefined;
    this.track.addEventListener("pointerdown", (ev) => {
      const at = this.colAt(ev.clientX);
      drag = ev.target === this.window ? { mode: "pan", from: at, start: this.start } : { mode: "brush", from: at };
      this.track.setPointerCapture(ev.pointerId);
      ev.preventDefault();
    });
    this.track.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const at = this.colAt(ev.clientX);
      if (drag.mode === "pan") {
        const width = this.end - this.start;
        const start = Math.max(0, Math.min(this.cols - width, drag.start + at - drag.from));
        this.onZoom(start, start + width);
      } else if (at !== drag.from) this.onZoom(Math.min(at, drag.from), Math.max(at, drag.from));
    });
    const end = () => (drag = undefined);
    this.track.addEventListener("pointerup", end);
    this.track.addEventListener("pointercancel", end);
  }
}

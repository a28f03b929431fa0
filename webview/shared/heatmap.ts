// A canvas heatmap that scales to thousands of columns: one ImageData pixel per cell, scaled up
// without smoothing, so a 32 x 1024 grid costs one drawImage. Keyboard operable (arrow keys move
// a focused cell, Enter selects), announces the focused cell through a live region, and carries a
// visually hidden table for screen readers. Tests read data-rows / data-cols / data-focus.
import { el, themeColor } from "./dom";
import { type ColorScale, writeColor } from "./colors";
import { hideTooltip, showTooltip } from "./tooltip";
import { binColumns } from "./virtual";
import { ZoomBar } from "./zoomBar";
import { rememberHeatmap, type HeatmapView } from "./heatmapViews";

export interface HeatmapSpec {
  /** Stable name, exposed as data-heatmap (e.g. "layers", "neurons"). */
  name: string;
  /** Accessible name of the whole grid. */
  label: string;
  rows: number;
  cols: number;
  /** RGBA, `cols` wide and rows * sub tall: each cell may be split into `sub` horizontal stripes. */
  pixels: { sub: number; data: Uint8ClampedArray };
  rowLabel(r: number): string;
  colLabel(c: number): string;
  /** One line for the live region and the hidden table, e.g. "L3, token ' fox': 0.42". */
  describe(r: number, c: number): string;
  tooltip(r: number, c: number): Node[];
  onSelect?(r: number, c: number): void;
  /** Largest cell width in CSS pixels (small grids would otherwise become huge). */
  maxCellW?: number;
  cellH?: number;
}

const TABLE_CELL_LIMIT = 4096;

export function pixelsFromValues(values: Float32Array, scale: ColorScale): { sub: number; data: Uint8ClampedArray } {
  const data = new Uint8ClampedArray(values.length * 4);
  for (let i = 0; i < values.length; i++) writeColor(scale, values[i], data, i * 4);
  return { sub: 1, data };
}

export class Heatmap {
  readonly root: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private readonly live: HTMLDivElement;
  private readonly scroller: HTMLDivElement;
  private readonly source: HTMLCanvasElement;
  private focus: { r: number; c: number } | undefined;
  private selected: { r: number; c: number } | undefined;
  private cellW = 10;
  private cellH = 14;
  private labelW = 40;
  private topH = 0;
  /** Columns shown: [start, end) of the whole grid (zoom). */
  private view = { start: 0, end: 0 };
  private readonly zoomBar: ZoomBar;

  constructor(private readonly spec: HeatmapSpec) {
    this.canvas = el("canvas", {
      class: "heatmap-canvas",
      attrs: {
        tabindex: "0",
        role: "application",
        "aria-roledescription": "heatmap",
        "aria-label": `${spec.label}. ${spec.rows} rows by ${spec.cols} columns. Arrow keys move, Enter selects.`,
        "aria-describedby": "introspect-tooltip",
      },
    });
    this.scroller = el("div", { class: "heatmap-scroll" }, this.canvas);
    this.live = el("div", { class: "visually-hidden", attrs: { "aria-live": "polite" } });
    this.view = { start: 0, end: spec.cols };
    this.zoomBar = new ZoomBar(spec.cols, (start, end) => this.zoomTo(start, end));
    this.root = el(
      "div",
      { class: "heatmap", data: { heatmap: spec.name, rows: spec.rows, cols: spec.cols } },
      this.zoomBar.root,
      this.scroller,
      this.axis,
      this.live,
    );
    this.source = document.createElement("canvas");
    this.source.width = Math.max(1, spec.cols);
    this.source.height = Math.max(1, spec.rows * spec.pixels.sub);
    if (spec.rows > 0 && spec.cols > 0) {
      this.source
        .getContext("2d")!
        .putImageData(new ImageData(spec.pixels.data as Uint8ClampedArray<ArrayBuffer>, spec.cols, spec.rows * spec.pixels.sub), 0, 0);
    }
    this.zoomBar.overview(this.source);
    this.bindEvents();
    rememberHeatmap(this);
    // Laid out after insertion (needs the container width); the hidden table is built when idle.
    requestAnimationFrame(() => this.draw());
    let width = 0;
    new ResizeObserver(() => {
      if (this.root.clientWidth !== width && width !== 0) this.draw();
      width = this.root.clientWidth;
    }).observe(this.root);
    // VS Code swaps the body's theme class (vscode-dark / vscode-light / vscode-high-contrast) on a
    // theme change; labels and focus rings are drawn with theme colours, so redraw then.
    const themeWatch = new MutationObserver(() => (this.root.isConnected ? this.draw() : themeWatch.disconnect()));
    themeWatch.observe(document.body, { attributes: true, attributeFilter: ["class"] });
    // With a deadline: a busy page (a loaded machine, a panel that keeps drawing) may never be idle,
    // and the table is the screen reader's way in.
    const build = () => this.root.append(this.hiddenTable());
    if (window.requestIdleCallback) window.requestIdleCallback(build, { timeout: 1000 });
    else setTimeout(build, 50);
  }

  /** The column labels drawn, for screen readers and tests (text only: token strings are untrusted). */
  private readonly axis = el("ol", { class: "visually-hidden heatmap-axis" });

  get name(): string {
    return this.spec.name;
  }

  currentView(): HeatmapView {
    return { rows: this.spec.rows, cols: this.spec.cols, ...this.view, focus: this.focus, selected: this.selected };
  }

  /** Takes a view read from the heatmap this one replaces (ignored when the shape differs). */
  restoreView(v: HeatmapView): void {
    if (v.rows !== this.spec.rows || v.cols !== this.spec.cols) return;
    if (v.start !== 0 || v.end !== this.spec.cols) this.zoomTo(v.start, v.end);
    if (v.selected) {
      this.selected = v.selected;
      this.root.dataset.selected = `${v.selected.r},${v.selected.c}`;
    }
    if (v.focus) {
      this.focus = v.focus;
      this.root.dataset.focus = `${v.focus.r},${v.focus.c}`;
    }
    this.draw();
  }

  /** Shows columns [start, end) only (clamped; at least one). */
  zoomTo(start: number, end: number): void {
    const n = this.spec.cols;
    const s = Math.max(0, Math.min(n - 1, Math.floor(start)));
    const e = Math.max(s + 1, Math.min(n, Math.ceil(end)));
    this.view = { start: s, end: e };
    this.root.dataset.viewStart = String(s);
    this.root.dataset.viewEnd = String(e);
    this.zoomBar.show(s, e);
    this.draw();
  }

  /** Redraws at the current container width (call after a resize). */
  draw(): void {
    const { rows } = this.spec;
    const { start: c0, end: c1 } = this.view;
    const cols = c1 - c0;
    const ctx = this.canvas.getContext("2d");
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    ctx.font = `11px ${themeColor("--vscode-editor-font-family", "monospace")}`;
    let longest = 0;
    // Rows too thin for text get a label every few rows only.
    const labelEvery = Math.ceil(10 / (this.spec.cellH ?? 16));
    for (let r = 0; r < rows; r += labelEvery) longest = Math.max(longest, ctx.measureText(this.spec.rowLabel(r)).width);
    this.labelW = Math.ceil(longest) + 8;
    const avail = Math.max(200, (this.root.clientWidth || window.innerWidth - 40) - this.labelW - 4);
    const maxByCanvas = Math.floor(30000 / (dpr * Math.max(1, cols)));
    // More columns than pixels: each pixel column stands for several columns (virtual.ts bins them).
    const fit = Math.floor(avail);
    const virtual = cols > fit;
    this.cellW = virtual
      ? fit / cols
      : Math.max(1, Math.min(this.spec.maxCellW ?? 40, maxByCanvas, Math.max(2, Math.floor(avail / Math.max(1, cols)))));
    this.root.dataset.colsPerPixel = virtual ? (cols / fit).toFixed(2) : "1";
    this.cellH = this.spec.cellH ?? (rows <= 16 ? 22 : 16);
    // Column labels thin out but never vanish: every k-th, k so that the labels (11 px text rotated by
    // 60 degrees, so 15 px apart along the axis puts 13 px between their lines) never overlap.
    const labelStep = Math.max(1, Math.ceil(15 / this.cellW));
    this.topH = 64;
    const w = this.labelW + cols * this.cellW + 4;
    const h = this.topH + rows * this.cellH + 4;
    this.canvas.width = Math.ceil(w * dpr);
    this.canvas.height = Math.ceil(h * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.imageSmoothingEnabled = false;
    // Only the columns in view are drawn (a 1,000-column grid zoomed to 50 costs 50 columns).
    if (virtual) ctx.drawImage(this.binned(c0, c1, fit), this.labelW, this.topH, fit, rows * this.cellH);
    else ctx.drawImage(this.source, c0, 0, cols, this.source.height, this.labelW, this.topH, cols * this.cellW, rows * this.cellH);
    const fg = getComputedStyle(this.canvas).color || "#888";
    const bg = themeColor("--vscode-editor-background", "#1e1e1e");
    // Thin separators in the page colour make individual cells readable when they are wide enough.
    if (this.cellW >= 6) {
      ctx.strokeStyle = bg;
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let c = 1; c < cols; c++) {
        const x = this.labelW + c * this.cellW + 0.5;
        ctx.moveTo(x, this.topH);
        ctx.lineTo(x, this.topH + rows * this.cellH);
      }
      for (let r = 1; r < rows; r++) {
        const y = this.topH + r * this.cellH + 0.5;
        ctx.moveTo(this.labelW, y);
        ctx.lineTo(this.labelW + cols * this.cellW, y);
      }
      ctx.stroke();
    }
    ctx.fillStyle = fg;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (let r = 0; r < rows; r += labelEvery) ctx.fillText(this.spec.rowLabel(r), this.labelW - 4, this.topH + (r + 0.5) * this.cellH);
    ctx.textAlign = "left";
    const drawn: HTMLElement[] = [];
    // Labels on multiples of the step stay put while panning.
    for (let c = Math.ceil(c0 / labelStep) * labelStep; c < c1; c += labelStep) {
      ctx.save();
      ctx.translate(this.labelW + (c - c0 + 0.5) * this.cellW, this.topH - 4);
      ctx.rotate(-Math.PI / 3);
      const label = this.spec.colLabel(c);
      const short = label.length > 10 ? label.slice(0, 9) + "…" : label;
      ctx.fillText(short, 0, 0);
      ctx.restore();
      drawn.push(el("li", { text: short, data: { col: c } }));
    }
    this.axis.replaceChildren(...drawn);
    this.root.dataset.labelStep = String(labelStep);
    // Two-tone rings (page colour outside, text or focus colour inside) stay visible on any cell colour.
    this.ring(ctx, this.selected, bg, fg);
    this.ring(ctx, this.focus, bg, themeColor("--vscode-focusBorder", "#0090f1"));
  }

  private binCache: { key: string; canvas: HTMLCanvasElement } | undefined;
  /** Columns [c0, c1) binned into `width` pixel columns (kept for the last window and width). */
  private binned(c0: number, c1: number, width: number): HTMLCanvasElement {
    const key = `${c0},${c1},${width}`;
    if (this.binCache?.key === key) return this.binCache.canvas;
    const h = this.source.height;
    const c = document.createElement("canvas");
    c.width = width;
    c.height = h;
    const data = binColumns(this.spec.pixels.data, this.spec.cols, h, c0, c1, width);
    c.getContext("2d")!.putImageData(new ImageData(data as Uint8ClampedArray<ArrayBuffer>, width, h), 0, 0);
    this.binCache = { key, canvas: c };
    return c;
  }

  private ring(ctx: CanvasRenderingContext2D, cell: { r: number; c: number } | undefined, outer: string, inner: string): void {
    if (!cell || cell.c < this.view.start || cell.c >= this.view.end) return;
    const x = this.labelW + (cell.c - this.view.start) * this.cellW;
    const y = this.topH + cell.r * this.cellH;
    const w = Math.max(2, this.cellW);
    ctx.lineWidth = 3;
    ctx.strokeStyle = outer;
    ctx.strokeRect(x - 1.5, y - 1.5, w + 3, this.cellH + 3);
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = inner;
    ctx.strokeRect(x - 0.75, y - 0.75, w + 1.5, this.cellH + 1.5);
  }

  private cellAt(ev: MouseEvent): { r: number; c: number } | undefined {
    const rect = this.canvas.getBoundingClientRect();
    const c = this.view.start + Math.floor((ev.clientX - rect.left - this.labelW) / this.cellW);
    const r = Math.floor((ev.clientY - rect.top - this.topH) / this.cellH);
    if (r < 0 || c < this.view.start || r >= this.spec.rows || c >= this.view.end) return undefined;
    return { r, c };
  }

  private bindEvents(): void {
    this.canvas.addEventListener("mousemove", (ev) => {
      const cell = this.cellAt(ev);
      if (!cell) return hideTooltip();
      this.root.dataset.hover = `${cell.r},${cell.c}`;
      showTooltip(ev.clientX, ev.clientY, this.spec.tooltip(cell.r, cell.c));
    });
    this.canvas.addEventListener("mouseleave", () => hideTooltip());
    // Brush: drag across columns with Shift held to zoom into them.
    let brushFrom: number | undefined;
    this.canvas.addEventListener("mousedown", (ev) => {
      if (ev.shiftKey) brushFrom = this.cellAt(ev)?.c;
    });
    this.canvas.addEventListener("mouseup", (ev) => {
      const to = this.cellAt(ev)?.c;
      if (brushFrom !== undefined && to !== undefined && to !== brushFrom)
        this.zoomTo(Math.min(brushFrom, to), Math.max(brushFrom, to) + 1);
      brushFrom = undefined;
    });
    // Ctrl + wheel zooms around the pointer.
    this.canvas.addEventListener(
      "wheel",
      (ev) => {
        if (!ev.ctrlKey) return;
        ev.preventDefault();
        const at = this.cellAt(ev)?.c ?? Math.floor((this.view.start + this.view.end) / 2);
        const width = this.view.end - this.view.start;
        const next = Math.max(1, Math.round(width * (ev.deltaY > 0 ? 1.5 : 1 / 1.5)));
        const frac = (at - this.view.start) / Math.max(1, width);
        const start = Math.max(0, Math.min(this.spec.cols - next, Math.round(at - frac * next)));
        this.zoomTo(start, start + next);
      },
      { passive: false },
    );
    this.canvas.addEventListener("click", (ev) => {
      const cell = this.cellAt(ev);
      if (cell) this.moveTo(cell.r, cell.c, true);
    });
    this.canvas.addEventListener("focus", () => {
      if (!this.focus) this.moveTo(0, 0, false);
    });
    this.canvas.addEventListener("blur", () => hideTooltip());
    this.canvas.addEventListener("keydown", (ev) => {
      const f = this.focus ?? { r: 0, c: 0 };
      const page = Math.max(1, Math.floor(this.scroller.clientWidth / this.cellW));
      const moves: Record<string, [number, number]> = {
        ArrowUp: [-1, 0],
        ArrowDown: [1, 0],
        ArrowLeft: [0, -1],
        ArrowRight: [0, 1],
        PageUp: [0, -page],
        PageDown: [0, page],
        Home: [0, -f.c],
        End: [0, this.spec.cols - 1 - f.c],
      };
      if (ev.key in moves) {
        const [dr, dc] = moves[ev.key];
        this.moveTo(f.r + dr, f.c + dc, false);
        ev.preventDefault();
      } else if (ev.key === "Enter" || ev.key === " ") {
        this.moveTo(f.r, f.c, true);
        ev.preventDefault();
      } else if (ev.key === "Escape") hideTooltip();
    });
  }

  /** Moves the focused cell (clamped); `select` also marks it selected and calls onSelect. */
  moveTo(r: number, c: number, select: boolean): void {
    r = Math.max(0, Math.min(this.spec.rows - 1, r));
    c = Math.max(0, Math.min(this.spec.cols - 1, c));
    // Keyboard moves past the zoomed window pan it.
    const width = this.view.end - this.view.start;
    if (c < this.view.start) this.zoomTo(c, c + width);
    else if (c >= this.view.end) this.zoomTo(c - width + 1, c + 1);
    this.focus = { r, c };
    this.root.dataset.focus = `${r},${c}`;
    if (select) {
      this.selected = { r, c };
      this.root.dataset.selected = `${r},${c}`;
    }
    this.draw();
    const x = this.labelW + (c - this.view.start) * this.cellW;
    if (x < this.scroller.scrollLeft || x + this.cellW > this.scroller.scrollLeft + this.scroller.clientWidth) {
      this.scroller.scrollLeft = Math.max(0, x - this.scroller.clientWidth / 2);
    }
    this.live.textContent = this.spec.describe(r, c);
    if (document.activeElement === this.canvas) {
      const rect = this.canvas.getBoundingClientRect();
      showTooltip(rect.left + x + this.cellW, rect.top + this.topH + (r + 1) * this.cellH, this.spec.tooltip(r, c));
    }
    if (select) this.spec.onSelect?.(r, c);
  }

  private hiddenTable(): HTMLElement {
    const { rows, cols } = this.spec;
    const shownCols = Math.max(1, Math.min(cols, Math.floor(TABLE_CELL_LIMIT / Math.max(1, rows))));
    const caption = shownCols < cols ? `${this.spec.label} (first ${shownCols} of ${cols} columns; export CSV for all)` : this.spec.label;
    const head = el("tr", {}, el("th", { text: "" }));
    for (let c = 0; c < shownCols; c++) head.append(el("th", { text: this.spec.colLabel(c), attrs: { scope: "col" } }));
    const body = el("tbody");
    for (let r = 0; r < rows; r++) {
      const tr = el("tr", {}, el("th", { text: this.spec.rowLabel(r), attrs: { scope: "row" } }));
      for (let c = 0; c < shownCols; c++) tr.append(el("td", { text: this.spec.describe(r, c) }));
      body.append(tr);
    }
    // The wrapper hides it: a table ignores width: 1px and would widen the page.
    return el(
      "div",
      { class: "visually-hidden" },
      el("table", { data: { alt: this.spec.name } }, el("caption", { text: caption }), el("thead", {}, head), body),
    );
  }
}

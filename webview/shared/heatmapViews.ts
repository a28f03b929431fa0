// A heatmap's view (zoom, focused and selected cell) carried across a repaint of its panel: a
// panel reads the views before it rebuilds its heatmaps and hands them to the new ones.
/** What a reader did to a heatmap (zoom, focused and selected cell), kept across a repaint of its panel. */
export interface HeatmapView {
  rows: number;
  cols: number;
  start: number;
  end: number;
  focus?: { r: number; c: number };
  selected?: { r: number; c: number };
}

/** What the memory needs of a heatmap (heatmap.ts). */
export interface ViewHolder {
  readonly name: string;
  readonly root: HTMLElement;
  currentView(): HeatmapView;
  restoreView(v: HeatmapView): void;
}

/** The heatmaps built, to read their views before a panel repaints; dropped once off the page. */
const built = new Set<ViewHolder>();

export function rememberHeatmap(h: ViewHolder): void {
  built.add(h);
}

/** The views of the heatmaps on the page, by name (the first of a name). */
export function heatmapViews(): Map<string, HeatmapView> {
  const views = new Map<string, HeatmapView>();
  for (const h of built) {
    if (!h.root.isConnected) built.delete(h);
    else if (!views.has(h.name)) views.set(h.name, h.currentView());
  }
  return views;
}

/**
 * Gives the heatmaps now on the page the views read before a repaint (same name and shape only:
 * another probe's grid starts unzoomed).
 */
export function restoreHeatmapViews(views: Map<string, HeatmapView>): void {
  const seen = new Set<string>();
  for (const h of built) {
    if (!h.root.isConnected) {
      built.delete(h);
      continue;
    }
    const v = views.get(h.name);
    if (v && !seen.has(h.name)) h.restoreView(v);
    seen.add(h.name);
  }
}

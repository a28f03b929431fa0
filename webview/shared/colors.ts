// Colour scales that follow the editor's theme, baked into 256-entry lookup tables so painting a
// 1024 x 32 heatmap is a table lookup per cell. Sequential scales run from the editor background
// to the theme's accent (low values fade into the page); diverging scales run from the theme's
// blue through the editor background (0) to its red, so 0 is the page colour in every theme and a
// dark theme gets no white glare. Interpolated in OKLab, so equal steps look equal. The theme is
// read from VS Code's CSS variables each time a scale is made; `onThemeChange` tells a panel to
// repaint. Outside a page (unit tests) the Dark Modern colours stand in.
import { interpolateSinebow, schemeTableau10 } from "d3-scale-chromatic";
import { oklabMix, type Rgb } from "./oklab";

/** "sequential" and "diverging"; the older names read the same (viridis, magma: sequential; rdbu: diverging). */
export type ScaleName = "sequential" | "diverging" | "viridis" | "magma" | "rdbu";

export interface ColorScale {
  name: ScaleName;
  lo: number;
  hi: number;
  lut: Uint8ClampedArray;
  /** Whether lo / hi are quantiles: values beyond them saturate. */
  clipped?: boolean;
}

const luts = new Map<string, Uint8ClampedArray>();

export function parseColor(c: string): [number, number, number] {
  const hex = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c.trim());
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c.trim());
  if (short) return [1, 2, 3].map((i) => parseInt(short[i] + short[i], 16)) as [number, number, number];
  const m = /rgba?\(\s*(\d+)[ ,]+(\d+)[ ,]+(\d+)/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return [128, 128, 128];
}

/** The theme colours the scales are made of. */
export interface ThemePalette {
  background: Rgb;
  foreground: Rgb;
  /** Of the theme's accent colours the one farthest from the background, moved towards the foreground until it stands 4.5:1 from it. */
  accent: Rgb;
  negative: Rgb;
  positive: Rgb;
}

/** Dark Modern's colours: the palette outside a webview (and for variables a theme leaves unset). */
const FALLBACK = {
  background: "#1f1f1f",
  foreground: "#cccccc",
  accent: "#4daafc",
  negative: "#3794ff",
  positive: "#f14c4c",
};

function cssVar(name: string): string | undefined {
  if (typeof document === "undefined" || !document.body) return undefined;
  return getComputedStyle(document.body).getPropertyValue(name).trim() || undefined;
}

/** The theme's colours now, from VS Code's CSS variables. */
export function themePalette(): ThemePalette {
  const background = parseColor(cssVar("--vscode-editor-background") ?? FALLBACK.background);
  const foreground = parseColor(cssVar("--vscode-editor-foreground") ?? cssVar("--vscode-foreground") ?? FALLBACK.foreground);
  const accents = ["--vscode-textLink-foreground", "--vscode-focusBorder", "--vscode-button-background"]
    .map((n) => cssVar(n))
    .filter((c): c is string => !!c)
    .map(parseColor);
  const accent = accents.length
    ? accents.reduce((a, b) => (contrast(b, background) > contrast(a, background) ? b : a))
    : parseColor(FALLBACK.accent);
  return {
    background,
    foreground,
    accent: legibleEnd(accent, background, foreground),
    negative: parseColor(cssVar("--vscode-charts-blue") ?? FALLBACK.negative),
    positive: parseColor(cssVar("--vscode-charts-red") ?? FALLBACK.positive),
  };
}

/**
 * The top of a sequential scale: the accent, moved towards the foreground just far enough to stand
 * 4.5:1 from the background (a dark accent on a dark page would leave the scale little range).
 */
function legibleEnd(accent: Rgb, background: Rgb, foreground: Rgb): Rgb {
  for (let t = 0; t <= 1; t += 0.1) {
    const c = oklabMix(accent, foreground, t);
    if (contrast(c, background) >= 4.5) return c;
  }
  return foreground;
}

/** WCAG relative luminance of an sRGB colour. */
export function luminance([r, g, b]: Rgb): number {
  const lin = (v: number) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio (1 to 21). */
export function contrast(a: Rgb, b: Rgb): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Text on a cell of colour `cell`: the theme's foreground or background, whichever reads better. */
export function textOn(cell: Rgb, p: ThemePalette = themePalette()): string {
  const c = contrast(cell, p.foreground) >= contrast(cell, p.background) ? p.foreground : p.background;
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

function isDiverging(name: ScaleName): boolean {
  return name === "diverging" || name === "rdbu";
}

function lut(name: ScaleName): Uint8ClampedArray {
  const p = themePalette();
  const div = isDiverging(name);
  const key = `${div ? "d" : "s"}|${p.background}|${div ? `${p.negative}|${p.positive}` : p.accent}`;
  let t = luts.get(key);
  if (t) return t;
  t = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    const c = div
      ? x < 0.5
        ? oklabMix(p.negative, p.background, x * 2)
        : oklabMix(p.background, p.positive, x * 2 - 1)
      : oklabMix(p.background, p.accent, x);
    t.set(c, i * 3);
  }
  luts.set(key, t);
  return t;
}

/**
 * Calls `repaint` after VS Code switches the page's theme (it swaps the body's vscode-dark /
 * vscode-light / vscode-high-contrast class once the new variables are set).
 */
export function onThemeChange(repaint: () => void): void {
  let last = document.body.className;
  new MutationObserver(() => {
    if (document.body.className === last) return;
    last = document.body.className;
    repaint();
  }).observe(document.body, { attributes: true, attributeFilter: ["class"] });
}

/** A scale over the finite values; signed scales are symmetric around 0 so 0 is the neutral colour. */
export function scaleFor(values: Float32Array, name: ScaleName, fixed?: [number, number], clip?: number): ColorScale {
  let lo = Infinity;
  let hi = -Infinity;
  if (fixed) [lo, hi] = fixed;
  else if (clip !== undefined) [lo, hi] = quantiles(values, clip);
  else {
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) [lo, hi] = [0, 1];
  }
  if (isDiverging(name)) {
    const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    [lo, hi] = [-m, m];
  }
  if (hi === lo) hi = lo + 1;
  const clipped = clip !== undefined && !fixed && values.some((v) => v < lo || v > hi);
  return { name, lo, hi, lut: lut(name), clipped };
}

/**
 * Range for a clipped scale: Tukey's far-out fences (quartiles -/+ 3 IQR), intersected with the data
 * range. A few massive activations then saturate instead of flattening every other cell into one
 * colour, and data without outliers keeps its full range. `q` widens the quartiles (0.75 = Q1..Q3).
 */
function quantiles(values: Float32Array, qHi: number): [number, number] {
  const f = values.filter(Number.isFinite).sort();
  if (!f.length) return [0, 1];
  const at = (q: number) => f[Math.min(f.length - 1, Math.max(0, Math.round(q * (f.length - 1))))];
  const q1 = at(1 - qHi);
  const q3 = at(qHi);
  const iqr = q3 - q1;
  return [Math.max(f[0], q1 - 3 * iqr), Math.min(f[f.length - 1], q3 + 3 * iqr)];
}

/** Writes RGBA for value v at out[o..o+3]; non-finite values become transparent (the page shows through). */
export function writeColor(s: ColorScale, v: number, out: Uint8ClampedArray, o: number): void {
  if (!Number.isFinite(v)) {
    out[o + 3] = 0;
    return;
  }
  const i = Math.max(0, Math.min(255, Math.round(((v - s.lo) / (s.hi - s.lo)) * 255))) * 3;
  out[o] = s.lut[i];
  out[o + 1] = s.lut[i + 1];
  out[o + 2] = s.lut[i + 2];
  out[o + 3] = 255;
}

export function cssColor(s: ColorScale, v: number): string {
  const px = new Uint8ClampedArray(4);
  writeColor(s, v, px, 0);
  return px[3] ? `rgb(${px[0]}, ${px[1]}, ${px[2]})` : "transparent";
}

/** A distinct colour per expert: Tableau 10 up to 10 experts, evenly spaced sinebow hues beyond. */
export function categoryColor(i: number, n: number): [number, number, number] {
  if (n <= 10) return parseColor(schemeTableau10[i % 10]);
  return parseColor(interpolateSinebow(i / n));
}

/** A horizontal legend: gradient bar with its low and high values. */
export function legend(s: ColorScale, label: string, format: (v: number) => string): HTMLElement {
  const wrap = document.createElement("div");
  wrap.className = "legend";
  const c = document.createElement("canvas");
  c.width = 256;
  c.height = 1;
  c.className = "legend-bar";
  const ctx = c.getContext("2d");
  if (ctx) {
    const img = ctx.createImageData(256, 1);
    for (let i = 0; i < 256; i++) writeColor(s, s.lo + ((s.hi - s.lo) * i) / 255, img.data, i * 4);
    ctx.putImageData(img, 0, 0);
  }
  c.setAttribute("role", "img");
  c.setAttribute("aria-label", `${label}: colour scale from ${format(s.lo)} to ${format(s.hi)}`);
  const lo = document.createElement("span");
  lo.textContent = (s.clipped ? "≤ " : "") + format(s.lo);
  const hi = document.createElement("span");
  hi.textContent = (s.clipped ? "≥ " : "") + format(s.hi);
  const name = document.createElement("span");
  name.className = "legend-label";
  name.textContent = label;
  wrap.append(name, lo, c, hi);
  return wrap;
}

// Colour scales from d3-scale-chromatic baked into 256-entry lookup tables, so painting a
// 1024 x 32 heatmap is a table lookup per cell. Sequential viridis / magma for magnitudes,
// diverging RdBu (blue negative, red positive) for signed values; both stay legible on light,
// dark and high-contrast backgrounds because they never rely on the page colour.
import { interpolateMagma, interpolateRdBu, interpolateViridis, interpolateSinebow, schemeTableau10 } from "d3-scale-chromatic";

export type ScaleName = "viridis" | "magma" | "rdbu";

export interface ColorScale {
  name: ScaleName;
  lo: number;
  hi: number;
  lut: Uint8ClampedArray;
  /** Whether lo / hi are quantiles: values beyond them saturate. */
  clipped?: boolean;
}

const luts = new Map<ScaleName, Uint8ClampedArray>();

export function parseColor(c: string): [number, number, number] {
  const hex = /^#([0-9a-f]{6})$/i.exec(c.trim());
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const m = /rgba?\(\s*(\d+)[ ,]+(\d+)[ ,]+(\d+)/.exec(c);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  return [128, 128, 128];
}

function lut(name: ScaleName): Uint8ClampedArray {
  let t = luts.get(name);
  if (t) return t;
  // RdBu runs red -> blue; reversed so that positive values read as red ("hot").
  const f = name === "viridis" ? interpolateViridis : name === "magma" ? interpolateMagma : (x: number) => interpolateRdBu(1 - x);
  t = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) t.set(parseColor(f(i / 255)), i * 3);
  luts.set(name, t);
  return t;
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
  if (name === "rdbu") {
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

// Virtualised columns for heatmaps wider than their pixels: columns [c0, c1) of an RGBA image are
// binned into `width` pixel columns, each pixel taking the most saturated cell of its bin (the one
// farthest from grey), so a single strong cell among a thousand still shows instead of being
// skipped by nearest-neighbour scaling. DOM-free (tested in test/unit/webview/shared.test.ts).

/** Chroma plus distance from mid-grey: neutral cells (the middle of a diverging scale, NaN) score low. */
function salience(d: Uint8ClampedArray, i: number): number {
  if (d[i + 3] === 0) return -1;
  const r = d[i];
  const g = d[i + 1];
  const b = d[i + 2];
  return Math.max(r, g, b) - Math.min(r, g, b) + Math.abs((r + g + b) / 3 - 128) / 4;
}

/** RGBA `width` x `height`: bin x holds columns [c0 + x*k, c0 + (x+1)*k) with k = (c1 - c0) / width. */
export function binColumns(
  data: Uint8ClampedArray,
  cols: number,
  height: number,
  c0: number,
  c1: number,
  width: number,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(width * height * 4);
  const k = (c1 - c0) / width;
  for (let x = 0; x < width; x++) {
    const from = c0 + Math.floor(x * k);
    const to = Math.max(from + 1, Math.min(c1, c0 + Math.floor((x + 1) * k)));
    for (let y = 0; y < height; y++) {
      let best = (y * cols + from) * 4;
      let score = salience(data, best);
      for (let c = from + 1; c < to; c++) {
        const i = (y * cols + c) * 4;
        const s = salience(data, i);
        if (s > score) [best, score] = [i, s];
      }
      out.set(data.subarray(best, best + 4), (y * width + x) * 4);
    }
  }
  return out;
}

// Export helpers: PNG from a canvas, CSV with proper quoting, JSON with typed arrays unrolled.
// Saving goes through the extension (a save dialog); the panel only produces the bytes.

/** PNG bytes of a canvas. */
export function canvasPng(canvas: HTMLCanvasElement): Promise<ArrayBuffer> {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? blob.arrayBuffer().then(resolve, reject) : reject(new Error("The canvas could not be encoded as PNG."))),
      "image/png",
    );
  });
}

/**
 * One CSV field. Quotes when needed (RFC 4180) and defuses text that a spreadsheet would run
 * as a formula (token strings such as "=cmd|..." are possible in a vocabulary).
 */
export function csvField(v: string | number): string {
  if (typeof v === "number") return Number.isNaN(v) ? "" : String(v);
  let s = v;
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: (string | number)[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** JSON text of a value whose typed arrays become plain arrays (NaN becomes null). */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => {
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      if (typeof v === "number" && !Number.isFinite(v)) return null;
      return v;
    },
    1,
  );
}

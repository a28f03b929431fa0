// Reading back what the extension writes: a file once it is there (it exists a moment before it
// is written), CSV as the panels write it (RFC 4180 quoting), a PNG's signature and size.
import * as fs from "fs";
import { waitFor } from "../../waitFor";

/** The bytes of `file` once it exists and starts with `magic` (any content when magic is ""). */
export async function written(file: string, magic = ""): Promise<Buffer> {
  return waitFor(
    `${file} written${magic ? ` (starting ${JSON.stringify(magic)})` : ""}`,
    () => {
      if (!fs.existsSync(file)) return undefined;
      const b = fs.readFileSync(file);
      return b.length > 0 && b.subarray(0, magic.length).toString("latin1") === magic && b;
    },
    { timeoutMs: 30000, intervalMs: 100 },
  );
}

/** Rows of fields; quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  if (field !== "" || row.length) rows.push([...row, field]);
  return rows;
}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk; throws when the bytes are not a PNG. */
export function pngSize(png: Buffer): [number, number] {
  if (!png.subarray(0, 8).equals(Buffer.from(PNG_SIGNATURE)) || png.subarray(12, 16).toString("latin1") !== "IHDR")
    throw new Error(`not a PNG: ${png.subarray(0, 16).toString("hex")}`);
  return [png.readUInt32BE(16), png.readUInt32BE(20)];
}

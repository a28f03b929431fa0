// What each vocabulary entry stands for in the text: its "surface" bytes. The library gives token
// strings only, so character offsets are rebuilt by lining these bytes up with the input
// (align.ts). Each vocabulary family spells text differently:
//   byte-level BPE (GPT-2, Llama-3, Qwen): every byte is one printable code point (space = "Ġ");
//   SentencePiece-style: "▁" for a space, "<0xE2>" byte-fallback pieces for bytes not in the vocab;
//   WordPiece: "##" marks a piece that continues the previous word.

/** Describes how a tokenizer.json spells text, read once from its components. */
export interface SurfaceStyle {
  kind: "byte-level-bpe" | "sentencepiece" | "wordpiece" | "other";
  byteLevel: boolean;
  byteFallback: boolean;
  /** Characters the vocabulary uses in place of a space ("▁" for Metaspace). */
  spaceMarks: string[];
  continuingPrefix: string;
  endOfWordSuffix: string;
  unkPiece: string | undefined;
  /** A Prepend normaliser adds its text to every section, whether or not it starts with a space. */
  alwaysPrependsSpace: boolean;
  /** ByteLevel(add_prefix_space) / Metaspace(prepend_scheme) add a space where a section lacks one. */
  prependsMissingSpace: boolean;
}

type Json = Record<string, unknown>;

function components(node: unknown, listKey: string): Json[] {
  if (!node || typeof node !== "object") return [];
  const obj = node as Json;
  const list = obj[listKey];
  if (obj.type === "Sequence" && Array.isArray(list)) return list.flatMap((n) => components(n, listKey));
  return [obj];
}

export function readSurfaceStyle(tokenizerJson: Json): SurfaceStyle {
  const model = (tokenizerJson.model ?? {}) as Json;
  const pre = components(tokenizerJson.pre_tokenizer, "pretokenizers");
  const dec = components(tokenizerJson.decoder, "decoders");
  const norm = components(tokenizerJson.normalizer, "normalizers");
  const byteLevel = [...pre, ...dec].some((c) => c.type === "ByteLevel");
  const spaceMarks = new Set<string>();
  for (const c of [...pre, ...dec]) {
    if (c.type === "Metaspace") spaceMarks.add(typeof c.replacement === "string" ? c.replacement : "\u2581");
  }
  for (const c of [...dec, ...norm]) {
    const pattern = (c.pattern ?? {}) as Json;
    if (c.type !== "Replace" || typeof pattern.String !== "string") continue;
    // Decoder Replace("▁" -> " ") and normaliser Replace(" " -> "▁") both name the space mark.
    if (c.content === " " && pattern.String.length === 1) spaceMarks.add(pattern.String);
    if (pattern.String === " " && typeof c.content === "string" && c.content.length === 1) spaceMarks.add(c.content);
  }
  const alwaysPrependsSpace = norm.some(
    (c) => c.type === "Prepend" && typeof c.prepend === "string" && (c.prepend === " " || spaceMarks.has(c.prepend)),
  );
  const prependsMissingSpace = pre.some(
    (c) =>
      (c.type === "ByteLevel" && c.add_prefix_space === true) ||
      (c.type === "Metaspace" && c.prepend_scheme !== "never" && c.add_prefix_space !== false),
  );
  const type = model.type;
  const byteFallback = model.byte_fallback === true;
  const kind = byteLevel
    ? "byte-level-bpe"
    : type === "WordPiece"
      ? "wordpiece"
      : spaceMarks.size > 0 || byteFallback || type === "Unigram"
        ? "sentencepiece"
        : "other";
  if (type === "Unigram" && spaceMarks.size === 0) spaceMarks.add("\u2581");
  return {
    kind,
    byteLevel,
    byteFallback,
    spaceMarks: [...spaceMarks],
    continuingPrefix:
      typeof model.continuing_subword_prefix === "string" ? model.continuing_subword_prefix : type === "WordPiece" ? "##" : "",
    endOfWordSuffix: typeof model.end_of_word_suffix === "string" ? model.end_of_word_suffix : "",
    unkPiece: typeof model.unk_token === "string" ? model.unk_token : undefined,
    alwaysPrependsSpace,
    prependsMissingSpace,
  };
}

// GPT-2's table: bytes that are printable keep their code point, the others are moved to 256+.
let byteDecoder: Map<number, number> | undefined;
function byteLevelDecoder(): Map<number, number> {
  if (byteDecoder) return byteDecoder;
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Map<number, number>();
  for (const b of printable) map.set(b, b);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) map.set(256 + extra++, b);
  }
  byteDecoder = map;
  return map;
}

const encoder = new TextEncoder();
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Bytes of the text a (non-added, known) piece stands for. */
export function surfaceBytes(piece: string, style: SurfaceStyle): Uint8Array {
  if (style.byteFallback) {
    const m = BYTE_PIECE.exec(piece);
    if (m) return Uint8Array.of(parseInt(m[1], 16));
  }
  if (style.byteLevel) {
    const table = byteLevelDecoder();
    const out: number[] = [];
    for (const ch of piece) {
      const b = table.get(ch.codePointAt(0)!);
      if (b !== undefined) out.push(b);
      else out.push(...encoder.encode(ch));
    }
    return Uint8Array.from(out);
  }
  let text = piece;
  if (style.continuingPrefix && text.startsWith(style.continuingPrefix) && text.length > style.continuingPrefix.length) {
    text = text.slice(style.continuingPrefix.length);
  }
  if (style.endOfWordSuffix && text.endsWith(style.endOfWordSuffix)) {
    text = text.slice(0, text.length - style.endOfWordSuffix.length);
  }
  for (const mark of style.spaceMarks) text = text.split(mark).join(" ");
  return encoder.encode(text);
}

/**
 * Text of some bytes for display: valid UTF-8 decodes normally, bytes of an incomplete or broken
 * character show as `<0xE2>` so a token holding part of an emoji is still readable.
 */
export function displayBytes(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const n = utf8Length(bytes, i);
    if (n > 0) {
      out += String.fromCodePoint(decodeAt(bytes, i, n));
      i += n;
    } else {
      out += `<0x${bytes[i].toString(16).toUpperCase().padStart(2, "0")}>`;
      i += 1;
    }
  }
  return out;
}

/** Length of a valid UTF-8 sequence starting at i, or 0 when the bytes there are not one. */
export function utf8Length(bytes: ArrayLike<number>, i: number, end = bytes.length): number {
  const b = bytes[i];
  let n: number;
  if (b < 0x80) return 1;
  else if (b >= 0xc2 && b < 0xe0) n = 2;
  else if (b >= 0xe0 && b < 0xf0) n = 3;
  else if (b >= 0xf0 && b < 0xf5) n = 4;
  else return 0;
  if (i + n > end) return 0;
  for (let k = 1; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  const cp = decodeAt(bytes, i, n);
  if ((n === 3 && cp < 0x800) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

export function decodeAt(bytes: ArrayLike<number>, i: number, n: number): number {
  if (n === 1) return bytes[i];
  if (n === 2) return ((bytes[i] & 0x1f) << 6) | (bytes[i + 1] & 0x3f);
  if (n === 3) return ((bytes[i] & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6) | (bytes[i + 2] & 0x3f);
  return ((bytes[i] & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12) | ((bytes[i + 2] & 0x3f) << 6) | (bytes[i + 3] & 0x3f);
}

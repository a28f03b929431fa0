// Lines the tokens' surface text up with the input to give every token its character span.
//
// The tokens' bytes, concatenated, are the UTF-8 of the *normalised* input: identical to the input
// for byte-level BPE, with spaces added ("▁" prefix) for SentencePiece, lowercased / accent-stripped
// / without whitespace for BERT's WordPiece. So the walk compares code points exactly first, then
// through a fold (NFKD, lowercase, marks removed) that undoes what normalisers do, and skips what
// one side has and the other lost. A code point whose bytes are split across tokens gives its span
// to each of them. One pass over both sides: linear in the text's length.

import type { CharSpan } from "../types";
import { decodeAt, utf8Length } from "./surface";

/** A token's contribution: its surface bytes, or null for an unknown-token piece. */
export interface Segment {
  bytes: Uint8Array | null;
  /** An added token matched literally in the text: the next token starts a new section. */
  literal: boolean;
}

export interface AlignOptions {
  /** The normaliser adds a space at the start of every section (Llama-2's Prepend("▁")). */
  alwaysPrependsSpace: boolean;
  /** The pre-tokenizer adds a space to a section that does not start with one (GPT-2 add_prefix_space). */
  prependsMissingSpace?: boolean;
  /** WordPiece: an unknown token stands for one whole word (up to whitespace or punctuation). */
  unkIsWord: boolean;
  /** The unknown piece, which a user may also have typed literally. */
  unkPiece?: string;
  /** Code points of the characters the vocabulary uses for a space ("▁"), when typed in the text. */
  spaceMarks?: number[];
}

const UNK = -1;

interface Stream {
  cp: Int32Array;
  first: Int32Array;
  last: Int32Array;
  sectionStart: Uint8Array;
  length: number;
}

function buildStream(segments: Segment[]): Stream {
  let total = 0;
  for (const s of segments) total += s.bytes ? s.bytes.length : 1;
  const cp = new Int32Array(total);
  const first = new Int32Array(total);
  const last = new Int32Array(total);
  const sectionStart = new Uint8Array(total);
  const bytes = new Uint8Array(total);
  const owner = new Int32Array(total);
  let n = 0;
  let nb = 0;
  let nextIsSectionStart = true;
  let pendingSectionStart = -1;
  const flush = (): void => {
    let i = 0;
    while (i < nb) {
      let len = utf8Length(bytes, i, nb);
      const ok = len > 0;
      if (!ok) len = 1;
      cp[n] = ok ? decodeAt(bytes, i, len) : 0xfffd;
      first[n] = owner[i];
      last[n] = owner[i + len - 1];
      if (pendingSectionStart === i) sectionStart[n] = 1;
      n++;
      i += len;
    }
    nb = 0;
    pendingSectionStart = -1;
  };
  segments.forEach((s, t) => {
    if (s.bytes === null) {
      flush();
      cp[n] = UNK;
      first[n] = last[n] = t;
      n++;
      nextIsSectionStart = false;
      return;
    }
    if (s.literal) flush();
    if (nextIsSectionStart && s.bytes.length > 0 && !s.literal) pendingSectionStart = nb;
    for (const b of s.bytes) {
      bytes[nb] = b;
      owner[nb++] = t;
    }
    if (s.bytes.length > 0) nextIsSectionStart = false;
    if (s.literal) {
      flush();
      nextIsSectionStart = true;
    }
  });
  flush();
  return { cp, first, last, sectionStart, length: n };
}

const foldCache = new Map<number, string>();
const WS = /^\s$/u;
const STRIP = /[\p{M}\p{Cc}\p{Cf}\p{Co}\p{Cn}]/gu;

/** What a normaliser may have turned a code point into, compared loosely. Whitespace folds to " ". */
export function fold(cp: number): string {
  let f = foldCache.get(cp);
  if (f !== undefined) return f;
  const ch = String.fromCodePoint(cp);
  if (WS.test(ch)) f = " ";
  else if (cp === 0xfffd) f = "";
  else f = ch.normalize("NFKD").toLowerCase().normalize("NFKD").replace(STRIP, "");
  if (foldCache.size < 100_000) foldCache.set(cp, f);
  return f;
}

// BERT's punctuation: Unicode P* plus every ASCII symbol (symbols such as emoji are word characters).
const PUNCT = /\p{P}/u;
function isWordBreak(cp: number): boolean {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  if (isCjk(cp)) return true;
  return PUNCT.test(String.fromCodePoint(cp)) || fold(cp) === " ";
}

// The ranges BERT's normaliser puts spaces around: each such character is its own word.
function isCjk(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const RESYNC_WINDOW = 16;

/** Character spans (UTF-16 code units of `text`) for each segment, in order. */
export function alignSegments(text: string, segments: Segment[], opts: AlignOptions): CharSpan[] {
  return new Walk(text, segments, opts).run();
}

const width = (c: number): number => (c > 0xffff ? 2 : 1);

/**
 * The walk over both sides: `p` indexes the tokens' code-point stream, `i` the text. Each step
 * matches, folds, skips or resyncs and moves at least one of them on.
 */
class Walk {
  private readonly starts: Int32Array;
  private readonly ends: Int32Array;
  private readonly anchors: Int32Array;
  private readonly s: Stream;
  private readonly L: number;
  private p = 0;
  private i = 0;
  private lastP = -1;
  private lastA = -1;
  private lastB = -1;

  constructor(
    private readonly text: string,
    segments: Segment[],
    private readonly opts: AlignOptions,
  ) {
    const nTok = segments.length;
    this.starts = new Int32Array(nTok).fill(-1);
    this.ends = new Int32Array(nTok).fill(-1);
    this.anchors = new Int32Array(nTok).fill(-1);
    this.s = buildStream(segments);
    this.L = text.length;
  }

  run(): CharSpan[] {
    while (this.p < this.s.length && this.i < this.L) this.step();
    this.trailingMarks();
    for (; this.p < this.s.length; this.p++) this.anchor(this.p, this.L);
    return this.spans();
  }

  /** Gives text [a, b) to the tokens of stream code point q. */
  private give(q: number, a: number, b: number): void {
    for (let t = this.s.first[q]; t <= this.s.last[q]; t++) {
      if (this.starts[t] < 0 || a < this.starts[t]) this.starts[t] = a;
      if (b > this.ends[t]) this.ends[t] = b;
    }
    this.lastP = q;
    this.lastA = a;
    this.lastB = b;
  }

  /** Where the tokens of stream code point q stand when they get no characters. */
  private anchor(q: number, at: number): void {
    for (let t = this.s.first[q]; t <= this.s.last[q]; t++) if (this.anchors[t] < 0) this.anchors[t] = at;
  }

  private cpAt(k: number): number {
    return this.text.codePointAt(k)!;
  }

  private matches(q: number, k: number): boolean {
    const { s } = this;
    if (q >= s.length || k >= this.L) return false;
    const c = this.cpAt(k);
    return s.cp[q] === c || (s.cp[q] !== UNK && fold(s.cp[q]) !== "" && fold(s.cp[q]) === fold(c));
  }

  /** Both sides agree on one code point of width w. */
  private take(w: number): void {
    this.give(this.p, this.i, this.i + w);
    this.p++;
    this.i += w;
  }

  private step(): void {
    const { s, opts, p, i } = this;
    this.anchor(p, i);
    const cs = s.cp[p];
    const ci = this.cpAt(i);
    const wi = width(ci);
    if (cs === UNK) return this.unknown();
    if (s.sectionStart[p] && fold(cs) === " ") {
      // The space a normaliser or pre-tokenizer put in front of this section.
      const missing = opts.prependsMissingSpace && cs !== ci && !opts.spaceMarks?.includes(ci);
      if (opts.alwaysPrependsSpace || missing) {
        this.p++;
        return;
      }
    }
    if (cs === ci) return this.take(wi);
    const fs = fold(cs);
    const fi = fold(ci);
    if (fs === "") {
      // A mark or format character only the tokens have (NFD output): it belongs to the character
      // just matched, when the input is right after it.
      if (this.lastA >= 0 && this.lastB === i) this.give(p, this.lastA, this.lastB);
      this.p++;
      return;
    }
    if (fi === "") {
      // Removed by the normaliser (combining accent, zero-width joiner): part of the token right
      // before it; after a gap (a space) no token stands for it.
      if (this.lastP >= 0 && i === this.lastB) this.give(this.lastP, i, i + wi);
      this.i += wi;
      return;
    }
    if (fs === fi) return this.take(wi);
    if (fs === " " && opts.spaceMarks?.includes(ci)) return this.take(wi); // a "▁" typed in the text, which the vocabulary spells as a space
    if (fi === " ") {
      this.i += wi; // whitespace the pre-tokenizer dropped
      return;
    }
    if (fs === " ") {
      this.p++; // whitespace the tokenizer added
      return;
    }
    if (fi.length > fs.length && fi.startsWith(fs)) return this.inputExpands(fi, wi);
    if (fs.length > fi.length && fs.startsWith(fi)) return this.tokenExpands(fs);
    this.resync();
  }

  /** An unknown-token piece: the characters it stands for, up to what the next token matches. */
  private unknown(): void {
    const { text, opts, L } = this;
    let i = this.i;
    // Skip what separates it from the previous token; marks still belong to that token.
    while (i < L) {
      const c = this.cpAt(i);
      if (fold(c) === " ") i += width(c);
      else if (fold(c) === "") {
        if (this.lastP >= 0 && i === this.lastB) this.give(this.lastP, i, i + width(c));
        i += width(c);
      } else break;
    }
    const a = i;
    if (opts.unkPiece && text.startsWith(opts.unkPiece, i)) i += opts.unkPiece.length;
    else if (i < L) {
      const c0 = this.cpAt(i);
      i += width(c0);
      const oneChar = opts.unkIsWord && isWordBreak(c0);
      while (!oneChar && i < L) {
        const c = this.cpAt(i);
        if (fold(c) === " ") break;
        if (opts.unkIsWord ? isWordBreak(c) : this.matches(this.p + 1, i)) break;
        i += width(c);
      }
    }
    if (i > a) this.give(this.p, a, i);
    this.i = i;
    this.p++;
  }

  /** One input character became several (NFKC "ﬁ" -> "fi"): consume stream code points. */
  private inputExpands(fi: string, wi: number): void {
    const { s, i } = this;
    let rest = fi;
    let q = this.p;
    while (q < s.length && rest.length > 0 && s.cp[q] !== UNK && fold(s.cp[q]) !== "" && rest.startsWith(fold(s.cp[q]))) {
      rest = rest.slice(fold(s.cp[q]).length);
      this.give(q, i, i + wi);
      q++;
    }
    this.p = q;
    this.i += wi;
  }

  /** One token code point stands for several input characters. */
  private tokenExpands(fs: string): void {
    let rest = fs;
    let k = this.i;
    while (k < this.L && rest.length > 0 && fold(this.cpAt(k)) !== "" && rest.startsWith(fold(this.cpAt(k)))) {
      rest = rest.slice(fold(this.cpAt(k)).length);
      this.give(this.p, k, k + width(this.cpAt(k)));
      k += width(this.cpAt(k));
    }
    this.i = k;
    this.p++;
  }

  /** Mismatch: look a little ahead in the input; what lies between goes to the previous token. */
  private resync(): void {
    const { i, p } = this;
    let k = i;
    let found = -1;
    for (let n = 0; n < RESYNC_WINDOW && k < this.L; n++) {
      if (this.matches(p, k)) {
        found = k;
        break;
      }
      k += width(this.cpAt(k));
    }
    if (found >= 0) {
      let stop = found;
      while (stop > i && fold(this.text.charCodeAt(stop - 1)) === " ") stop--;
      if (stop > i) this.give(this.lastP >= 0 ? this.lastP : p, i, stop);
      this.i = found;
    } else {
      this.p++;
    }
  }

  /** Marks after the last matched character (a final "e" + U+0301 under NFC) belong to its token. */
  private trailingMarks(): void {
    while (this.i < this.L && this.lastP >= 0 && this.i === this.lastB && fold(this.cpAt(this.i)) === "") {
      this.give(this.lastP, this.i, this.i + width(this.cpAt(this.i)));
      this.i += width(this.cpAt(this.i));
    }
  }

  /** Each token's span; one that got no characters is empty at its anchor (or after the previous token). */
  private spans(): CharSpan[] {
    const nTok = this.starts.length;
    const spans: CharSpan[] = new Array(nTok);
    let prevEnd = 0;
    for (let t = 0; t < nTok; t++) {
      if (this.starts[t] >= 0) {
        spans[t] = { start: this.starts[t], end: this.ends[t] };
        prevEnd = this.ends[t];
      } else {
        const at = this.anchors[t] >= 0 ? this.anchors[t] : prevEnd;
        spans[t] = { start: at, end: at };
      }
    }
    return spans;
  }
}

// The prompt-file parser. Line based: a block starts with a keyword at column 0 and owns the
// indented lines below it. It never throws and keeps going after an error, so one pass reports
// every problem with an exact range. Checks that need a model (token counts, layer ranges)
// are done by the language features, not here. The source is cut into lines in lines.ts; block
// headers and unreadable column-0 lines are read in headers.ts.
import type {
  Block,
  BlockKind,
  ContrastBlock,
  Entry,
  FileOptions,
  Located,
  ParseDiagnostic,
  PromptBlock,
  PromptFile,
  PromptText,
  Range,
} from "./model";
import { checkBlock } from "./checks";
import { newBlock, notABlock } from "./headers";
import { contentRange, emptyPiece, splitLines, type Line } from "./lines";
import { joinPieces, readLineValue, rng, type LinePiece } from "./text";
import { err, parseBool, parseInt_, parseLayers, parseOneWord, parseSites, words } from "./values";
import { parseExpertsValue } from "./experts";
import { BLOCK_KINDS, closest, KEYS_BY_BLOCK, lookupKey, OPTION_KEYS, type KeySpec } from "./vocabulary";

/** A text value still accepting continuation lines. */
interface OpenText {
  pieces: LinePiece[];
  blanks: LinePiece[];
  /** Column where the value's text begins (or the first continuation line's indentation);
   *  continuation lines keep any indentation beyond it. */
  contIndent?: number;
  entry: Entry;
  assign(t: PromptText | undefined): void;
  /** Message when the value ends up empty. */
  emptyMessage: string;
}

interface Current {
  block: Block;
  lastLine: number;
  entryIndent?: number;
  open?: OpenText;
  /** After a bad entry, deeper-indented lines are ignored silently. */
  skipDeeper: boolean;
  seen: Map<string, number>;
}

export function parsePromptFile(source: string): PromptFile {
  return new Parser(source).run();
}

class Parser {
  private readonly lines: Line[];
  private readonly diags: ParseDiagnostic[] = [];
  private readonly blocks: Block[] = [];
  private readonly options: FileOptions = { entries: [] };
  private readonly names = new Map<string, number>();
  private cur: Current | undefined;
  /** Set after an unreadable column-0 line: its indented lines are ignored. */
  private skipping = false;
  private reportedOrphan = false;

  constructor(source: string) {
    this.lines = splitLines(source);
  }

  run(): PromptFile {
    this.lines.forEach((line, i) => {
      try {
        this.line(line, i);
      } catch (e) {
        // The parser must never throw; a bug here becomes one diagnostic instead of a crash.
        this.diags.push(err(rng(i, 0, line.text.length), `Internal parser error on this line: ${String(e)}`, "internal"));
      }
    });
    this.closeBlock();
    return { blocks: this.blocks, options: this.options, diagnostics: this.diags, lineCount: this.lines.length };
  }

  private line(line: Line, i: number): void {
    if (line.blank) {
      if (this.cur?.open) this.cur.open.blanks.push(emptyPiece(i));
      else if (this.cur?.block.kind === "prompt") this.promptBlank(i);
      return;
    }
    if (line.comment) return;
    if (line.top) {
      this.closeBlock();
      this.skipping = false;
      this.reportedOrphan = false;
      this.topLevel(line, i);
      return;
    }
    if (this.cur) {
      this.cur.lastLine = i;
      if (this.cur.block.kind === "prompt") this.promptLine(line, i);
      else this.entryLine(line, i);
      return;
    }
    if (!this.skipping && !this.reportedOrphan) {
      this.reportedOrphan = true;
      this.diags.push(
        err(contentRange(line, i), "Indented text outside any block: start a block above it, e.g. `prompt my-prompt`.", "orphan-line"),
      );
    }
  }

  // ---- column 0 -----------------------------------------------------------------------------

  private topLevel(line: Line, i: number): void {
    const ws = words(line.text, line.indent);
    const first = /^\S+/.exec(line.text.slice(line.indent))![0];
    const firstRange = rng(i, line.indent, line.indent + first.length);
    if ((BLOCK_KINDS as string[]).includes(first)) {
      const block = newBlock(first as BlockKind, firstRange, ws.slice(1), line.text, i, this.names, this.diags);
      this.cur = { block, lastLine: i, skipDeeper: false, seen: new Map() };
      return;
    }
    if (lookupKey(OPTION_KEYS, first)) {
      this.entry(line, i, OPTION_KEYS, "options");
      return;
    }
    this.skipping = true;
    this.diags.push(notABlock(first, firstRange));
  }

  private closeBlock(): void {
    const cur = this.cur;
    if (!cur) return;
    this.cur = undefined;
    if (cur.open) this.finishText(cur.open);
    if (cur.block.kind === "prompt") this.finishPrompt(cur);
    const lastText = this.lines[cur.lastLine].text;
    cur.block.range = { start: cur.block.headerRange.start, end: { line: cur.lastLine, character: lastText.trimEnd().length } };
    this.diags.push(...checkBlock(cur.block));
    this.blocks.push(cur.block);
  }

  // ---- prompt blocks: every indented line is text ----------------------------------------------

  private promptPieces: LinePiece[] = [];
  private promptBlanks: LinePiece[] = [];
  private promptIndent = 0;

  private promptLine(line: Line, i: number): void {
    if (this.promptPieces.length === 0) this.promptIndent = line.indent;
    this.promptPieces.push(...this.promptBlanks);
    this.promptBlanks = [];
    const start = Math.min(line.indent, this.promptIndent);
    // Deeper indentation is part of the text (code prompts); a quoted line is read as a string.
    const piece =
      line.indent > this.promptIndent
        ? readLineValue(line.text, i, start, "text", [])
        : readLineValue(line.text, i, start, "text", this.diags);
    this.promptPieces.push(piece);
  }

  private promptBlank(i: number): void {
    if (this.promptPieces.length > 0) this.promptBlanks.push(emptyPiece(i));
  }

  private finishPrompt(cur: Current): void {
    (cur.block as PromptBlock).text = joinPieces(this.promptPieces);
    this.promptPieces = [];
    this.promptBlanks = [];
  }

  // ---- keyed blocks ----------------------------------------------------------------------------

  private entryLine(line: Line, i: number): void {
    const cur = this.cur!;
    if (cur.entryIndent === undefined) cur.entryIndent = line.indent;
    if (line.indent > cur.entryIndent) {
      if (cur.open) return this.continuation(cur.open, line, i);
      if (!cur.skipDeeper) {
        cur.skipDeeper = true;
        this.diags.push(
          err(
            contentRange(line, i),
            "Unexpected indentation: only prompt text (clean, corrupt, + and - lines) continues on deeper-indented lines.",
            "unexpected-indent",
          ),
        );
      }
      return;
    }
    if (cur.open) this.finishText(cur.open);
    cur.open = undefined;
    cur.skipDeeper = false;
    this.entry(line, i, KEYS_BY_BLOCK[cur.block.kind], cur.block.kind);
  }

  private continuation(open: OpenText, line: Line, i: number): void {
    open.contIndent ??= line.indent;
    open.pieces.push(...open.blanks);
    open.blanks = [];
    const piece = readLineValue(
      line.text,
      i,
      Math.min(line.indent, open.contIndent),
      "text",
      line.indent > open.contIndent ? [] : this.diags,
    );
    open.pieces.push(piece);
    open.entry.range = { start: open.entry.range.start, end: piece.range.end };
  }

  private finishText(open: OpenText): void {
    const t = joinPieces(open.pieces);
    if (!t || t.text.trim() === "") {
      this.diags.push(err(open.entry.key.range, open.emptyMessage, "empty-text"));
    }
    open.assign(t);
  }

  /** One `key value` or `+ text` line, in a block or (for options) at the top level. */
  private entry(line: Line, i: number, keys: Record<string, KeySpec>, kind: BlockKind): void {
    const cur = this.cur;
    const start = line.indent;
    const t = line.text;
    const marker = kind === "contrast" && (t[start] === "+" || t[start] === "-") ? t[start] : undefined;
    const word = marker ?? /^\S+/.exec(t.slice(start))![0];
    const keyRange = rng(i, start, start + word.length);
    const valueStart = start + word.length + /^\s*/.exec(t.slice(start + word.length))![0].length;
    const entry: Entry = { key: { value: word, range: keyRange }, range: rng(i, start, t.trimEnd().length) };
    const rawText = t.slice(valueStart).trimEnd();
    if (rawText) entry.raw = { value: rawText, range: rng(i, valueStart, valueStart + rawText.length) };
    (cur ? cur.block.entries : this.options.entries).push(entry);

    if (marker) {
      const block = cur!.block as ContrastBlock;
      const list = marker === "+" ? block.positive : block.negative;
      this.openText(
        entry,
        line,
        i,
        valueStart,
        (v) => v && list.push(v),
        `Empty ${marker === "+" ? "positive" : "negative"} prompt: write its text after '${marker}'.`,
      );
      return;
    }
    const found = lookupKey(keys, word);
    if (!found) {
      if (cur) cur.skipDeeper = true;
      const known = Object.keys(keys);
      const guess = closest(word, known);
      const what = kind === "prompt" ? "" : kind === "contrast" ? `${known.join(", ")} or + / - lines` : known.join(", ");
      this.diags.push(
        err(keyRange, `Unknown key '${word}' in a ${kind} block${guess ? ` (did you mean '${guess}'?)` : ""}: use ${what}.`, "unknown-key"),
      );
      return;
    }
    // Options report duplicates in setOption, across top-level lines and options blocks.
    const prev = cur?.seen.get(found.name);
    if (prev !== undefined && kind !== "options") {
      this.diags.push(err(keyRange, `'${found.name}' is already set on line ${prev + 1}.`, "duplicate-key"));
    }
    cur?.seen.set(found.name, i);
    this.value(found.name, found.spec, entry, line, i, valueStart, kind);
  }

  private openText(entry: Entry, line: Line, i: number, valueStart: number, assign: OpenText["assign"], emptyMessage: string): void {
    const pieces = valueStart < line.text.trimEnd().length ? [readLineValue(line.text, i, valueStart, "text", this.diags)] : [];
    // Continuation lines keep indentation beyond the column where the value's text began.
    const open: OpenText = { pieces, blanks: [], entry, assign, emptyMessage, contIndent: pieces.length ? valueStart : undefined };
    if (this.cur) this.cur.open = open;
    else this.finishText(open);
  }

  private value(name: string, spec: KeySpec, entry: Entry, line: Line, i: number, valueStart: number, kind: BlockKind): void {
    const d = this.diags;
    const keyRange = entry.key.range;
    const ws = words(line.text, valueStart);
    const block = this.cur?.block;
    const set = (field: string, v: unknown) => {
      if (v !== undefined && block) (block as unknown as Record<string, unknown>)[field] = v;
    };
    switch (spec.kind) {
      case "text":
        this.openText(
          entry,
          line,
          i,
          valueStart,
          (v) => set(name, v),
          `'${name}' needs a prompt: write it after the key or on indented lines below.`,
        );
        return;
      case "token": {
        if (valueStart >= line.text.trimEnd().length) {
          d.push(err(keyRange, `'${name}' needs a token, e.g. ${name} " Mary" (the quotes keep the leading space).`, "missing-value"));
          return;
        }
        set(name, joinPieces([readLineValue(line.text, i, valueStart, "token", d)]));
        return;
      }
      case "layers":
        if (ws.length === 0) d.push(err(keyRange, `'${name}' needs layer numbers, e.g. 2 or 1-3.`, "missing-value"));
        set("layers", parseLayers(ws, i, d));
        return;
      case "sites": {
        if (ws.length === 0) d.push(err(keyRange, `'${name}' needs site names, e.g. resid_pre attn_out mlp_out.`, "missing-value"));
        const sites = parseSites(ws, i, d);
        if (kind === "contrast") {
          if (sites.length > 1) d.push(err(sites[1].range, "A contrast set reads one site.", "extra-value"));
          set("site", sites[0]);
        } else set("sites", sites);
        return;
      }
      case "enum":
        set(name, parseOneWord(ws, i, name, keyRange, spec.values, d));
        return;
      case "bool":
        set(name, parseBool(ws, i, name, keyRange, d));
        return;
      case "experts":
        (this.options.experts ??= []).push(...parseExpertsValue(ws, i, keyRange, d));
        return;
      case "int":
      case "word": {
        const v =
          spec.kind === "int"
            ? parseInt_(ws, i, name, keyRange, d)
            : line.text[valueStart] === '"'
              ? located(joinPieces([readLineValue(line.text, i, valueStart, "token", d)]))
              : parseOneWord(ws, i, name, keyRange, undefined, d);
        this.setOption(name, v, keyRange);
        return;
      }
    }
  }

  private setOption(name: string, v: Located<string> | Located<number> | undefined, keyRange: Range): void {
    if (!v) return;
    const field = (
      {
        model: "model",
        "max-tokens": "maxTokens",
        "max-new-tokens": "maxNewTokens",
        seed: "seed",
        "shift-reference": "shiftReference",
        "shift-layer": "shiftLayer",
      } as const
    )[name as "model"];
    if (!field) return;
    const prev = this.options[field];
    if (prev) {
      this.diags.push(err(keyRange, `'${name}' is already set on line ${prev.range.start.line + 1}.`, "duplicate-key"));
      return;
    }
    (this.options as unknown as Record<string, unknown>)[field] = v;
  }
}

function located(t: PromptText | undefined): Located<string> | undefined {
  return t && { value: t.text, range: t.range };
}

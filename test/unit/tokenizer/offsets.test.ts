import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";
import { DEMO_LLAMA, FIXTURES, HARD_TEXTS, assertExactTiling, assertMonotone, q, spanGroups, uncovered } from "./helpers";

const show = (text: string, toks: { id: number; span: { start: number; end: number } }[]): string[] =>
  toks.map((t) => `${t.id}:${text.slice(t.span.start, t.span.end)}`);

describe("tokenizer offsets: byte-level BPE (Qwen3 vocabulary, NFC normaliser)", () => {
  let tok: TextTokenizer;
  before(async () => {
    tok = await loadTokenizer(path.join(FIXTURES, "qwen3-small"));
  });

  it("recognises the family", () => {
    assert.equal(tok.kind, "byte-level-bpe");
    assert.equal(tok.vocabSize, 151669);
  });

  it("tiles every hard text exactly, each group of tokens decoding to its characters", () => {
    for (const text of HARD_TEXTS) {
      if (text.normalize("NFC") !== text) continue; // NFC changes these; checked below
      const tokens = tok.encode(text, { addSpecialTokens: false });
      assertExactTiling(tok, text, tokens);
      assert.equal(tok.decode(tokens.map((t) => t.id)), text);
    }
  });

  it("gives a token holding part of a multi-byte character that character's whole span", () => {
    const text = "a👨‍👩‍👧b";
    const tokens = tok.encode(text, { addSpecialTokens: false });
    const partial = tokens.filter((t) => t.text.includes("<0x"));
    assert.ok(partial.length >= 2, "this vocabulary splits the emoji's bytes over several tokens");
    for (const t of partial) {
      const chars = text.slice(t.span.start, t.span.end);
      assert.ok(
        [...chars].every((c) => c.length === 2 || c === "\u200d"),
        `${t.text} -> ${chars}`,
      );
      assert.ok(t.span.end - t.span.start <= 3, "a partial token covers its character, not its neighbours");
    }
    // Never splits a surrogate pair.
    for (const t of tokens) {
      const s = t.span.start;
      const e = t.span.end;
      if (s > 0) assert.ok(!(text.charCodeAt(s) >= 0xdc00 && text.charCodeAt(s) <= 0xdfff), `start inside a pair`);
      assert.ok(!(text.charCodeAt(e - 1) >= 0xd800 && text.charCodeAt(e - 1) <= 0xdbff), `end inside a pair`);
    }
  });

  it("maps through the NFC normaliser: a decomposed accent belongs to its letter's token", () => {
    const text = "Cafe\u0301 ole\u0301";
    const tokens = tok.encode(text, { addSpecialTokens: false });
    assertMonotone(text, tokens);
    assert.equal(uncovered(text, tokens, /$^/u), "");
    const withAccent = tokens.find((t) => t.span.start <= 3 && t.span.end > 3)!;
    assert.ok(withAccent.span.end >= 5, `the token of "e" also covers the combining accent: ${show(text, tokens)}`);
    assert.equal(tok.decode(tokens.map((t) => t.id)), text.normalize("NFC"));
  });

  it("places typed special tokens on their characters", () => {
    const text = "<|im_start|>user\nhi 👋<|im_end|>\n";
    const tokens = tok.encode(text);
    assertExactTiling(tok, text, tokens);
    const start = tokens[0];
    assert.equal(start.piece, "<|im_start|>");
    assert.deepEqual(start.span, { start: 0, end: 12 });
    assert.ok(tok.isSpecial(start.id));
    const end = tokens.find((t) => t.piece === "<|im_end|>")!;
    assert.equal(text.slice(end.span.start, end.span.end), "<|im_end|>");
  });

  it("skips the space an add_prefix_space pre-tokenizer inserts, also before a newline", async () => {
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, "qwen3-small", "tokenizer.json"), "utf8"));
    json.pre_tokenizer.pretokenizers[1].add_prefix_space = true;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-prefix-"));
    try {
      fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(json));
      const pre = await loadTokenizer(dir);
      const a = pre.encode("foo bar", { addSpecialTokens: false });
      assert.equal(a[0].piece, "Ġfoo", "the library added the space");
      assert.deepEqual(show("foo bar", a), [`${a[0].id}:foo`, `${a[1].id}: bar`]);
      const text = "\nfoo <|im_start|>user";
      const b = pre.encode(text, { addSpecialTokens: false });
      assertMonotone(text, b);
      assert.equal(uncovered(text, b, /$^/u), "");
      const nl = b.find((t) => t.piece.includes("Ċ"))!;
      assert.equal(text.slice(nl.span.start, nl.span.end), "\n");
      const user = b[b.length - 1];
      assert.equal(user.piece, "Ġuser");
      assert.equal(text.slice(user.span.start, user.span.end), "user");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows tokens readably: leading spaces kept, broken bytes as <0x..>", () => {
    const tokens = tok.encode(" world 👨‍👩‍👧", { addSpecialTokens: false });
    assert.equal(tokens[0].text, " world");
    assert.equal(tokens[0].piece, "Ġworld");
    assert.ok(tokens.some((t) => /^(?: )?(<0x[0-9A-F]{2}>)+$/.test(t.text)));
    assert.equal(tok.idToPiece(tokens[0].id), "Ġworld");
    assert.equal(tok.pieceToId("Ġworld"), tokens[0].id);
  });

  it("maps 50,000+ tokens in one pass and still tiles exactly", () => {
    const unit = "The quick brown fox — jumps over 12345 lazy dogs! 日本語 👍🏽 naïve.\n";
    const text = unit.repeat(1500);
    const tokens = tok.encode(text, { addSpecialTokens: false });
    assert.ok(tokens.length >= 50_000, `${tokens.length} tokens`);
    assertExactTiling(tok, text, tokens);
  });

  it("renders the chat template from tokenizer_config.json", () => {
    assert.ok(tok.hasChatTemplate);
    const prompt = tok.applyChatTemplate([{ role: "user", content: "hi there" }], { addGenerationPrompt: true });
    assert.ok(prompt.includes("<|im_start|>user\nhi there<|im_end|>\n"), prompt);
    assert.ok(prompt.trimEnd().endsWith("<|im_start|>assistant"), prompt);
    const without = tok.applyChatTemplate([{ role: "user", content: "hi there" }], { addGenerationPrompt: false });
    assert.ok(!without.includes("<|im_start|>assistant"), without);
  });
});

describe("tokenizer offsets: SentencePiece BPE (Mistral 7B vocabulary: ▁ spaces, Prepend normaliser, byte fallback)", () => {
  let tok: TextTokenizer;
  before(async () => {
    tok = await loadTokenizer(path.join(FIXTURES, "mistral"));
  });

  it("recognises the family and adds BOS with an empty span", () => {
    assert.equal(tok.kind, "sentencepiece");
    const tokens = tok.encode("Hello world");
    assert.equal(tokens[0].id, tok.bosTokenId);
    assert.deepEqual(tokens[0].span, { start: 0, end: 0 });
    assert.deepEqual(show("Hello world", tokens.slice(1)), ["22557:Hello", "1526: world"]);
  });

  it("gives every character to exactly the tokens that spell it", () => {
    for (const text of HARD_TEXTS) {
      const tokens = tok.encode(text, { addSpecialTokens: false });
      assertMonotone(text, tokens);
      assert.equal(uncovered(text, tokens, /$^/u), "", `all of ${q(text)} covered`);
      for (const g of spanGroups(tokens)) {
        const chars = text.slice(g.start, g.end);
        const decoded = g.tokens.map((t) => t.text).join("");
        if (decoded.includes("<0x")) {
          // Byte-fallback tokens of one character: their bytes together are that character.
          const bytes = g.tokens.flatMap((t) => [...t.text.matchAll(/<0x([0-9A-F]{2})>/g)].map((m) => parseInt(m[1], 16)));
          assert.equal(Buffer.from(bytes).toString("utf8"), chars);
        } else {
          // The section's first token carries the space the normaliser put in front.
          assert.ok(
            decoded === chars || (g.start === 0 && decoded === " " + chars),
            `${JSON.stringify(decoded)} vs ${JSON.stringify(chars)}`,
          );
        }
      }
    }
  });

  it("keeps a real leading space apart from the inserted one", () => {
    const text = " 日本";
    const tokens = tok.encode(text, { addSpecialTokens: false });
    assert.deepEqual(tokens[0].span, { start: 0, end: 1 });
    assert.equal(tokens[tokens.length - 1].span.end, 3);
  });
});

describe("tokenizer offsets: WordPiece (bert-base-uncased: lowercase, accents stripped, ## pieces)", () => {
  let tok: TextTokenizer;
  before(async () => {
    tok = await loadTokenizer(path.join(FIXTURES, "bert-base-uncased"));
  });

  it("maps lowercased, accent-stripped pieces back to the original characters", () => {
    const text = "Hello world, héllo Café! ÉCOLE e\u0301cole";
    const tokens = tok.encode(text);
    assert.equal(tokens[0].piece, "[CLS]");
    assert.equal(tokens[tokens.length - 1].piece, "[SEP]");
    assert.deepEqual(tokens[tokens.length - 1].span, { start: text.length, end: text.length });
    assert.deepEqual(show(text, tokens.slice(1, -1)), [
      "7592:Hello",
      "2088:world",
      "1010:,",
      "7592:héllo",
      "7668:Café",
      "999:!",
      "12431:ÉCOLE",
      `12431:e\u0301cole`,
    ]);
  });

  it("matches every known piece to its characters under the normaliser", () => {
    const fold = (s: string): string => s.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    for (const text of [...HARD_TEXTS, "Unaffable tokenization of transformers, izquierdo's naïveté"]) {
      const tokens = tok.encode(text, { addSpecialTokens: false });
      assertMonotone(text, tokens);
      // Tokens sharing one span (jamo pieces of one Hangul syllable) spell it together.
      for (const g of spanGroups(tokens)) {
        if (g.tokens.some((t) => t.piece === "[UNK]")) continue;
        const chars = fold(text.slice(g.start, g.end)).replace(/[\u200b\u200d]/g, "");
        assert.equal(chars, g.tokens.map((t) => t.text).join(""), `${g.tokens.map((t) => t.piece)} in ${q(text)}`);
      }
      assert.equal(uncovered(text, tokens, /\s|\u200b|\u200d|\u2028/u), "", `all of ${q(text)} covered`);
    }
  });

  it("gives an unknown-word token the whole word it replaced", () => {
    const text = "a 👨‍👩‍👧 b ☃snow [UNK] c";
    const tokens = tok.encode(text, { addSpecialTokens: false });
    const unks = tokens.filter((t) => t.piece === "[UNK]").map((t) => text.slice(t.span.start, t.span.end));
    assert.deepEqual(unks, ["👨‍👩‍👧", "☃snow", "[UNK]"]);
  });

  it("splits CJK into one token per character, each on its character", () => {
    const text = "日本語";
    const tokens = tok.encode(text, { addSpecialTokens: false });
    assert.deepEqual(show(text, tokens), ["1864:日", "1876:本", "1950:語"]);
  });
});

describe("tokenizer offsets: demo-llama (byte-level BPE of the demo model)", function () {
  const file = path.join(DEMO_LLAMA, "tokenizer.json");
  before(function () {
    if (!fs.existsSync(file)) {
      console.log(`      (skipped: ${file} does not exist yet)`);
      this.skip();
    }
  });

  it("tiles every hard text exactly", async () => {
    const tok = await loadTokenizer(DEMO_LLAMA);
    for (const text of HARD_TEXTS) {
      const tokens = tok.encode(text, { addSpecialTokens: false });
      if (tok.kind === "byte-level-bpe" && text.normalize("NFC") === text) assertExactTiling(tok, text, tokens);
      else assertMonotone(text, tokens);
    }
  });
});

import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { IntrospectError } from "../../../src/engine";
import { TOKENIZER_MISSING, loadTokenizer, spanOfTokens, tokensInRange } from "../../../src/engine";
import { FIXTURES } from "./helpers";

describe("tokensInRange / spanOfTokens", () => {
  it("selects tokens overlapping a selection, including ones across its edges", async () => {
    const tok = await loadTokenizer(path.join(FIXTURES, "qwen3-small"));
    const text = "The cat sat on the mat";
    const tokens = tok.encode(text, { addSpecialTokens: false });
    const pieces = (idx: number[]): string[] => idx.map((i) => text.slice(tokens[i].span.start, tokens[i].span.end));
    // "at s" starts inside " cat" and ends inside " sat".
    assert.deepEqual(pieces(tokensInRange(tokens, { start: 5, end: 9 })), [" cat", " sat"]);
    // Exactly one token.
    assert.deepEqual(pieces(tokensInRange(tokens, { start: 7, end: 11 })), [" sat"]);
    // A cursor inside a token, at a boundary, and at the very end.
    assert.deepEqual(pieces(tokensInRange(tokens, { start: 5, end: 5 })), [" cat"]);
    assert.deepEqual(pieces(tokensInRange(tokens, { start: 7, end: 7 })), [" sat"]);
    assert.deepEqual(pieces(tokensInRange(tokens, { start: text.length, end: text.length })), [" mat"]);
    assert.deepEqual(
      tokensInRange(tokens, { start: 0, end: text.length }),
      tokens.map((_, i) => i),
    );
    assert.deepEqual(spanOfTokens(tokens, 1, 2), { start: 3, end: 11 });
    assert.deepEqual(spanOfTokens(tokens, 2, 1), { start: 3, end: 11 });
  });

  it("selecting half of an emoji selects every token holding its bytes, and they map back to it", async () => {
    const tok = await loadTokenizer(path.join(FIXTURES, "qwen3-small"));
    const text = "hi 👨‍👩‍👧 there";
    const tokens = tok.encode(text);
    const idx = tokensInRange(tokens, { start: 4, end: 5 }); // the low surrogate of 👨
    assert.ok(idx.length >= 2, `${idx.length} tokens`);
    const span = spanOfTokens(tokens, idx[0], idx[idx.length - 1]);
    assert.ok(span.start <= 3 && span.end >= 5, JSON.stringify(span));
    assert.equal(tok.decode(idx.map((i) => tokens[i].id)), text.slice(span.start, span.end));
  });

  it("never returns added BOS / [CLS] tokens, which cover no characters", async () => {
    const tok = await loadTokenizer(path.join(FIXTURES, "bert-base-uncased"));
    const tokens = tok.encode("Hello there");
    assert.equal(tokens[0].piece, "[CLS]");
    assert.deepEqual(tokensInRange(tokens, { start: 0, end: 11 }), [1, 2]);
    assert.deepEqual(tokensInRange(tokens, { start: 0, end: 0 }), [1]);
    assert.deepEqual(spanOfTokens(tokens, 0, 0), { start: 0, end: 0 });
  });
});

describe("loadTokenizer errors and paths", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-tok-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("finds tokenizer.json from the model folder, its onnx/model.onnx or the json itself", async () => {
    const model = path.join(tmp, "m");
    fs.mkdirSync(path.join(model, "onnx"), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, "bert-base-uncased", "tokenizer.json"), path.join(model, "tokenizer.json"));
    fs.writeFileSync(path.join(model, "onnx", "model.onnx"), "");
    for (const p of [model, path.join(model, "onnx", "model.onnx"), path.join(model, "tokenizer.json")]) {
      const tok = await loadTokenizer(p);
      assert.equal(tok.path, path.join(model, "tokenizer.json"));
      assert.equal(tok.encode("hi", { addSpecialTokens: false })[0].piece, "hi");
    }
  });

  it("says where to point the setting when tokenizer.json is missing", async () => {
    const model = path.join(tmp, "bare");
    fs.mkdirSync(model);
    fs.writeFileSync(path.join(model, "model.onnx"), "");
    await assert.rejects(loadTokenizer(path.join(model, "model.onnx")), (e: unknown) => {
      assert.ok(e instanceof IntrospectError);
      assert.equal(e.code, "tokenizer-missing");
      assert.equal(e.message, TOKENIZER_MISSING);
      assert.equal(e.message, "tokenizer.json not found next to model.onnx: set introspect.model to the model folder");
      return true;
    });
  });

  it("rejects corrupt JSON and non-tokenizer JSON with a sentence", async () => {
    const bad = path.join(tmp, "bad");
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, "tokenizer.json"), '{"model": {"type": "BPE", ');
    await assert.rejects(loadTokenizer(bad), (e: unknown) => {
      assert.ok(e instanceof IntrospectError);
      assert.equal(e.code, "corrupt-model");
      assert.match(e.message, /^tokenizer\.json at .* is not valid JSON \(.*\): replace it with the file from the model's repository\.$/);
      return true;
    });
    fs.writeFileSync(path.join(bad, "tokenizer.json"), '{"hello": 1}');
    await assert.rejects(loadTokenizer(bad), /has no "model" section/);
    await assert.rejects(loadTokenizer(path.join(tmp, "nowhere")), /does not exist/);
  });

  it("decodes, and refuses ids outside the vocabulary", async () => {
    const tok = await loadTokenizer(path.join(FIXTURES, "mistral"));
    const ids = tok.encode("Hello world").map((t) => t.id);
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), "Hello world");
    assert.equal(tok.decode([]), "");
    assert.throws(() => tok.decode([tok.vocabSize]), /outside this vocabulary/);
    assert.throws(() => tok.applyChatTemplate([{ role: "user", content: "x" }]), /no chat_template/);
  });
});

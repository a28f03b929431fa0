// The prompt-file features through the real model host over LSP (stdio): capabilities, parse
// diagnostics before a model is loaded, model checks once one is, code lenses, hover,
// completion and the outline.
import * as assert from "assert";
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import { pathToFileURL } from "url";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import type {
  CodeLens,
  CompletionItem,
  Diagnostic,
  DocumentSymbol,
  Hover,
  InitializeResult,
  PublishDiagnosticsParams,
} from "vscode-languageserver-protocol";

const ROOT = path.join(__dirname, "../../..");
const MODEL = path.join(ROOT, "test/fixtures/local/tiny-llama");
const URI = pathToFileURL(path.join(ROOT, "demo/test-only.introspect")).toString();
const TEXT = `model tiny-llama
prompt p
  t1 t2 t3
patch swap
  clean t1 t2 t3
  corrupt t1 t2 t4
  answer " t5 t6"
  wrong " t7"
  layers 0 5
contrast c
  layer 1
  + t1
`;

describe("prompt-file features in the model host (LSP over stdio)", function () {
  this.timeout(90000);
  let host: ChildProcess;
  let conn: ProtocolConnection;
  const published: PublishDiagnosticsParams[] = [];
  const waitFor = async (pred: (d: Diagnostic[]) => boolean): Promise<Diagnostic[]> => {
    const t0 = Date.now();
    while (Date.now() - t0 < 60000) {
      const last = published.filter((p) => p.uri === URI).pop();
      if (last && pred(last.diagnostics)) return last.diagnostics;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no matching diagnostics; last: ${JSON.stringify(published.slice(-1))}`);
  };

  before(() => {
    host = spawn(process.execPath, ["-r", "tsx/cjs", path.join(ROOT, "src/server/server.ts"), "--stdio"], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    conn = createProtocolConnection(new StreamMessageReader(host.stdout!), new StreamMessageWriter(host.stdin!));
    conn.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => void published.push(p));
    conn.onNotification("window/logMessage", () => undefined);
    conn.onNotification("introspect/status", () => undefined);
    conn.onRequest("workspace/configuration", () => [{ promptFile: { maxTokens: 100 } }]);
    conn.onRequest("workspace/inlayHint/refresh", () => null);
    conn.onRequest("workspace/codeLens/refresh", () => null);
    conn.listen();
  });
  after(() => {
    conn?.dispose();
    host?.kill();
  });

  it("serves diagnostics, lenses, hover, completion and symbols", async () => {
    const init = (await conn.sendRequest("initialize", {
      processId: process.pid,
      rootUri: null,
      capabilities: { workspace: { configuration: true } },
    })) as InitializeResult;
    const caps = init.capabilities;
    assert.ok(
      caps.codeLensProvider &&
        caps.hoverProvider &&
        caps.completionProvider &&
        caps.documentSymbolProvider &&
        caps.inlayHintProvider &&
        caps.foldingRangeProvider,
    );
    await conn.sendNotification("initialized", {});
    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri: URI, languageId: "introspect", version: 1, text: TEXT } });

    // Before a model is loaded: only what the parser finds.
    const before = await waitFor((d) => d.length > 0);
    assert.deepStrictEqual(
      before.map((d) => d.code),
      ["no-negative"],
    );

    const state = (await conn.sendRequest("introspect/configure", { modelPath: MODEL, variant: "" })) as { kind: string };
    assert.strictEqual(state.kind, "ready", JSON.stringify(state));
    // Layer checks need only the model info; answer checks wait for the tokenizer, loaded next.
    const after = await waitFor((d) => d.some((x) => x.code === "layer-out-of-range") && d.some((x) => x.code === "answer-not-one-token"));
    const codes = after.map((d) => d.code).sort();
    assert.deepStrictEqual(codes, ["answer-not-one-token", "layer-out-of-range", "no-negative"]);
    const answer = after.find((d) => d.code === "answer-not-one-token")!;
    assert.deepStrictEqual(answer.range, { start: { line: 6, character: 9 }, end: { line: 6, character: 17 } });
    assert.match(String(answer.message), /2 tokens after the prompt/);
    assert.match(String(after.find((d) => d.code === "layer-out-of-range")!.message), /layers 0-1/);

    const lenses = (await conn.sendRequest("textDocument/codeLens", { textDocument: { uri: URI } })) as CodeLens[];
    // The patch block has errors (a two-token answer, layer 5) and the contrast set no negatives.
    assert.deepStrictEqual(
      lenses.map((l) => l.command?.command),
      ["introspect.probeText", "", "", ""],
    );
    const hover = (await conn.sendRequest("textDocument/hover", {
      textDocument: { uri: URI },
      position: { line: 2, character: 5 },
    })) as Hover;
    assert.match((hover.contents as { value: string }).value, /\*\*prompt\*\* · \d+ tokens · tiny-llama\n/);
    assert.deepStrictEqual(hover.range, { start: { line: 2, character: 5 }, end: { line: 2, character: 7 } }); // "t2"
    const completion = (await conn.sendRequest("textDocument/completion", {
      textDocument: { uri: URI },
      position: { line: 10, character: 9 },
    })) as CompletionItem[]; // after "layer 1"
    assert.deepStrictEqual(
      completion.map((c) => c.label),
      ["0"],
    );
    const symbols = (await conn.sendRequest("textDocument/documentSymbol", { textDocument: { uri: URI } })) as DocumentSymbol[];
    assert.deepStrictEqual(
      symbols.map((s) => s.name),
      ["p", "swap", "c"],
    );
  });

  it("answers a 20 MB prompt file with one warning and no other features, at once", async () => {
    const big = "file:///work/huge.introspect";
    const text = "prompt p\n" + "  the quick brown fox jumps over the lazy dog\n".repeat(450_000);
    const t0 = Date.now();
    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri: big, languageId: "introspect", version: 1, text } });
    let diag: Diagnostic[] | undefined;
    while (!diag && Date.now() - t0 < 30000) {
      diag = published.filter((p) => p.uri === big).pop()?.diagnostics;
      if (!diag) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(diag, "no diagnostics for the large file");
    assert.equal(diag.length, 1);
    assert.match(String(diag[0].message), /has 20\.\d million characters; prompt-file features .* stop at 1 million/);
    const lenses = await conn.sendRequest("textDocument/codeLens", { textDocument: { uri: big } });
    assert.deepStrictEqual(lenses, []);
    console.log(`      20 MB prompt file: warning and empty lenses after ${Date.now() - t0} ms`);
  });
});

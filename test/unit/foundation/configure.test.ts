// introspect/configure validates a model fully before saying "ready": the engine opens it (the
// architecture map and its self-check), and its tokenizer is loaded and checked against the model's
// vocabulary. A model that fails any of these is "failed" with the sentence, and Model Info shows
// the map's checks for one that passes.
import * as assert from "assert";
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { ConfigureRequest, ModelInfoRequest } from "../../../src/protocol/lsp";

const ROOT = path.join(__dirname, "../../..");
const ZOO = path.join(ROOT, "test/fixtures/zoo");

describe("model host: configure validates the model (map self-check, tokenizer)", function () {
  this.timeout(120000);
  let host: ChildProcess;
  let conn: ProtocolConnection;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-configure-"));

  before(async () => {
    host = spawn(process.execPath, ["-r", "tsx/cjs", path.join(ROOT, "src/server/server.ts"), "--stdio"], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    conn = createProtocolConnection(new StreamMessageReader(host.stdout!), new StreamMessageWriter(host.stdin!));
    for (const n of ["window/logMessage", "introspect/status", "$/progress", "textDocument/publishDiagnostics"])
      conn.onNotification(n, () => undefined);
    for (const r of ["window/workDoneProgress/create", "workspace/codeLens/refresh", "workspace/inlayHint/refresh"])
      conn.onRequest(r, () => null);
    conn.onRequest("workspace/configuration", () => [{}]);
    conn.listen();
    await conn.sendRequest("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
    await conn.sendNotification("initialized", {});
  });
  after(() => {
    conn?.dispose();
    host?.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("is ready for a confirmed map, and Model Info lists its checks", async () => {
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: path.join(ZOO, "olmoe-torchscript"), variant: "" });
    assert.strictEqual(state.kind, "ready", JSON.stringify(state));
    const info = await conn.sendRequest(ModelInfoRequest.type);
    assert.strictEqual(info.info?.numLayers, 3);
    assert.strictEqual(info.info?.numExperts, 4);
    const checks = info.info?.checks ?? [];
    assert.ok(checks.length >= 5 && checks.every((c) => c.verdict === "agree"), JSON.stringify(checks));
    assert.ok(info.inputs.some((i) => i.name === "past_key_values.0.key" && i.type === "float32"));
  });

  it("fails with the refusal sentence for a map that cannot be confirmed", async () => {
    const state = await conn.sendRequest(ConfigureRequest.type, {
      modelPath: path.join(ROOT, "test/fixtures/crafted/llama-no-softmax"),
      variant: "",
    });
    assert.strictEqual(state.kind, "failed");
    assert.match(
      state.kind === "failed" ? state.reason : "",
      /could not confirm the architecture map.*attention was recognised in 0 of 3 layers/,
    );
    const info = await conn.sendRequest(ModelInfoRequest.type);
    assert.strictEqual(info.info, undefined, "no map is shown for a refused model");
  });

  it("fails when the tokenizer belongs to another model (more tokens than the logits)", async () => {
    const dir = path.join(tmp, "wrong-tokenizer");
    fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
    const src = path.join(ZOO, "llama-dynamo");
    fs.copyFileSync(path.join(src, "config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(path.join(src, "onnx/model.onnx"), path.join(dir, "onnx/model.onnx"));
    fs.copyFileSync(path.join(ROOT, "models/demo-llama/tokenizer.json"), path.join(dir, "tokenizer.json")); // 1374 tokens vs 384
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: dir, variant: "" });
    assert.strictEqual(state.kind, "failed");
    assert.match(state.kind === "failed" ? state.reason : "", /tokenizer .* has 1374 tokens but the model's logits have 384/);
  });

  it("fails for a broken tokenizer.json at configure time, not at the first probe", async () => {
    const dir = path.join(tmp, "broken-tokenizer");
    fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
    const src = path.join(ZOO, "llama-dynamo");
    fs.copyFileSync(path.join(src, "config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(path.join(src, "onnx/model.onnx"), path.join(dir, "onnx/model.onnx"));
    fs.writeFileSync(path.join(dir, "tokenizer.json"), '{"model": {"type": "BPE", "vocab": 3}}');
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: dir, variant: "" });
    assert.strictEqual(state.kind, "failed", JSON.stringify(state));
    assert.match(state.kind === "failed" ? state.reason : "", /tokenizer/i);
  });
});

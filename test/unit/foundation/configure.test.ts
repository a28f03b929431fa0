// introspect/configure validates a model fully before saying "ready": the engine opens it (the
// architecture map and its self-check), and its tokenizer is loaded and checked against the model's
// vocabulary. A model that fails any of these is "failed" with the sentence, and Model Info shows
// the map's checks for one that passes.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ProtocolConnection } from "vscode-languageserver-protocol/node";
import { startHost, type StartedHost } from "../helpers/host";
import { ConfigureRequest, ModelInfoRequest } from "../../../src/protocol/lsp";

const ROOT = path.join(__dirname, "../../..");
const ZOO = path.join(ROOT, "test/fixtures/zoo");

describe("model host: configure validates the model (map self-check, tokenizer)", function () {
  this.timeout(120000);
  let started: StartedHost | undefined;
  let conn: ProtocolConnection;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-configure-"));

  before(async () => {
    started = await startHost();
    conn = started.conn;
  });
  after(() => {
    started?.stop();
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

  /** llama-dynamo's config and graph in a folder of its own, with the given tokenizer.json. */
  const withTokenizer = (name: string, write: (file: string) => void): string => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
    const src = path.join(ZOO, "llama-dynamo");
    fs.copyFileSync(path.join(src, "config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(path.join(src, "onnx/model.onnx"), path.join(dir, "onnx/model.onnx"));
    write(path.join(dir, "tokenizer.json"));
    return dir;
  };

  it("fails when the tokenizer belongs to another model (more tokens than the logits)", async () => {
    // demo-llama's tokenizer has 1374 tokens, the zoo model's logits 384.
    const dir = withTokenizer("wrong-tokenizer", (f) => fs.copyFileSync(path.join(ROOT, "models/demo-llama/tokenizer.json"), f));
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: dir, variant: "" });
    assert.strictEqual(state.kind, "failed");
    assert.match(state.kind === "failed" ? state.reason : "", /tokenizer .* has 1374 tokens but the model's logits have 384/);
  });

  it("fails for a broken tokenizer.json at configure time, not at the first probe", async () => {
    const dir = withTokenizer("broken-tokenizer", (f) => fs.writeFileSync(f, '{"model": {"type": "BPE", "vocab": 3}}'));
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: dir, variant: "" });
    assert.strictEqual(state.kind, "failed", JSON.stringify(state));
    assert.match(state.kind === "failed" ? state.reason : "", /tokenizer/i);
  });
});

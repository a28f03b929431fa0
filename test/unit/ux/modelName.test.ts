// Model names and paths as a user writes them (setting or a prompt file's model line).
import * as assert from "assert";
import { modelCandidates, modelLabel, resolveModelName, type ModelLookup } from "../../../src/extension/modelName";
import { chooseModel, resolveConfigured } from "../../../src/extension/modelChoice";
import { failureActions, unwrapRpcMessage } from "../../../src/extension/failureActions";

const present = new Set(["/ext/models/demo-moe", "/ws/models/mine", "/ws/prompts/local", "/abs/model"]);
const at = (over: Partial<ModelLookup> = {}): ModelLookup => ({
  fileDir: "/ws/prompts",
  workspaceFolder: "/ws",
  bundledModels: "/ext/models",
  home: "/home/u",
  trusted: true,
  exists: (p) => present.has(p),
  ...over,
});

describe("model names", () => {
  it("a bundled model's name, a folder beside the file, one in the workspace's models/, an absolute path", () => {
    assert.strictEqual(resolveModelName("demo-moe", at()), "/ext/models/demo-moe");
    assert.strictEqual(resolveModelName("models/demo-moe", at()), "/ext/models/demo-moe");
    assert.strictEqual(resolveModelName("local", at()), "/ws/prompts/local");
    assert.strictEqual(resolveModelName("mine", at()), "/ws/models/mine");
    assert.strictEqual(resolveModelName("/abs/model", at()), "/abs/model");
    assert.strictEqual(resolveModelName("nowhere", at()), undefined);
  });
  it("the file's folder comes before the workspace and the bundled models", () => {
    assert.deepStrictEqual(modelCandidates("demo-moe", at()), [
      "/ws/prompts/demo-moe",
      "/ws/demo-moe",
      "/ws/models/demo-moe",
      "/ext/models/demo-moe",
    ]);
  });
  it("untrusted: only bundled models (no workspace paths, no absolute paths from a file)", () => {
    assert.strictEqual(resolveModelName("demo-moe", at({ trusted: false })), "/ext/models/demo-moe");
    assert.strictEqual(resolveModelName("local", at({ trusted: false })), undefined);
    assert.strictEqual(resolveModelName("/abs/model", at({ trusted: false })), undefined);
  });
  it("labels name the model folder", () => {
    assert.strictEqual(modelLabel("/x/models/demo-moe/onnx/model.onnx"), "demo-moe");
    assert.strictEqual(modelLabel("/x/models/demo-moe/"), "demo-moe");
    assert.strictEqual(modelLabel("/x/m/tiny.onnx"), "m");
  });
  it("the setting takes names too, and falls back to the workspace path it would have used", () => {
    const base = { demoModel: "/ext/models/demo-llama", workspaceFolder: "/ws", extensionPath: (r: string) => `/ext/${r}`, home: "/h" };
    const exists = (p: string) => present.has(p);
    assert.strictEqual(resolveConfigured("demo-moe", { ...base, exists }), "/ext/models/demo-moe");
    assert.strictEqual(resolveConfigured("models/demo-moe", { ...base, exists }), "/ext/models/demo-moe");
    assert.strictEqual(resolveConfigured("missing", { ...base, exists }), "/ws/missing");
    // Untrusted: a bundled name from the user's settings is used, not replaced by the demo model.
    const c = chooseModel({ ...base, exists, trusted: false, model: { globalValue: "demo-moe" } });
    assert.deepStrictEqual([c.modelPath, c.ignored], ["/ext/models/demo-moe", undefined]);
    const rel = chooseModel({ ...base, exists, trusted: false, model: { globalValue: "mine" } });
    assert.strictEqual(rel.modelPath, "/ext/models/demo-llama");
    assert.match(rel.ignored ?? "", /not used/);
  });
});

describe("failure sentences and their buttons", () => {
  it("JSON-RPC's wrapping is removed", () => {
    assert.strictEqual(unwrapRpcMessage("Request introspect/probe failed with message: Model not found at /x."), "Model not found at /x.");
    assert.match(unwrapRpcMessage("Request introspect/probe failed unexpectedly without providing any details."), /see its log/);
  });
  it("model problems offer the picker, host problems a restart, every failure the log, a cancellation nothing", () => {
    assert.deepStrictEqual(failureActions("Model not found at /x: set introspect.model to a model folder or an .onnx file."), [
      "selectModel",
      "openSettings",
      "showLog",
    ]);
    assert.deepStrictEqual(failureActions('The model host is not running: run "Introspect: Restart Model Host".'), [
      "restartHost",
      "showLog",
    ]);
    assert.deepStrictEqual(failureActions("The selection has 2000 tokens, over introspect.probe.maxTokens (1024)."), [
      "openSettings",
      "showLog",
    ]);
    assert.deepStrictEqual(failureActions("Something odd."), ["showLog"]);
    assert.deepStrictEqual(failureActions("Probe cancelled."), []);
  });
});

import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { resolveOnnxFile } from "../../../src/server/handlers/model";
import { describe as statusText } from "../../../src/extension/statusText";
import type { ModelInfo } from "../../../src/engine";

describe("model host: resolving the configured model", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-resolve-"));
  fs.mkdirSync(path.join(dir, "m/onnx"), { recursive: true });
  fs.writeFileSync(path.join(dir, "m/onnx/model.onnx"), "");
  fs.writeFileSync(path.join(dir, "m/onnx/model_quantized.onnx"), "");
  fs.writeFileSync(path.join(dir, "notes.txt"), "");
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("finds onnx/model.onnx in a folder, and a variant by name", () => {
    assert.strictEqual(resolveOnnxFile(path.join(dir, "m"), ""), path.join(dir, "m/onnx/model.onnx"));
    assert.strictEqual(resolveOnnxFile(path.join(dir, "m"), "model_quantized"), path.join(dir, "m/onnx/model_quantized.onnx"));
  });

  it("says what to do when the path or variant is wrong", () => {
    assert.throws(() => resolveOnnxFile(path.join(dir, "missing"), ""), /Model not found at .*: set introspect\.model/);
    assert.throws(() => resolveOnnxFile(path.join(dir, "m"), "model_q4"), /No model_q4\.onnx in .*introspect\.variant/);
    assert.throws(() => resolveOnnxFile(path.join(dir, "notes.txt"), ""), /is not an \.onnx file/);
  });
});

describe("status bar text", () => {
  const info = { id: "demo-llama", architecture: "LlamaForCausalLM", numLayers: 4 } as ModelInfo;
  it("names the model when ready and says when the host was restarted", () => {
    assert.strictEqual(
      statusText({ kind: "running" }, { kind: "ready", path: "/x/demo-llama", info }, 0).text,
      "$(pulse) Introspect: demo-llama",
    );
    assert.match(statusText({ kind: "running" }, { kind: "ready", path: "/x/demo-llama", info }, 1).text, /demo-llama \(host restarted\)$/);
    assert.match(statusText({ kind: "running" }, { kind: "ready", path: "/x/demo-llama", info }, 3).text, /host restarted 3×/);
    // The model's id, not its folder: a hub snapshot's folder is a revision hash.
    const hub = { ...info, id: "tiny-org/llama-merged:q4" };
    const snapshot = "/h/hub/models--tiny-org--llama-merged/snapshots/f148fb595d";
    assert.strictEqual(
      statusText({ kind: "running" }, { kind: "ready", path: snapshot, info: hub }, 0).text,
      "$(pulse) Introspect: tiny-org/llama-merged:q4",
    );
  });
  it("shows failures with their reason and the stopped host as an error", () => {
    const failed = statusText({ kind: "running" }, { kind: "failed", path: "/x", reason: "tokenizer.json not found" }, 0);
    assert.strictEqual(failed.error, true);
    assert.strictEqual(failed.tooltip, "tokenizer.json not found");
    const stopped = statusText({ kind: "stopped", reason: "stopped 5 times" }, { kind: "none" }, 5);
    assert.match(stopped.text, /host stopped/);
    assert.match(stopped.tooltip, /stopped 5 times/);
  });
});

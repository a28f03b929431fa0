// Transformers.js folders: the variants a folder holds are listed (and only those), weights split
// over chunked external-data files load, and a variant onnxruntime cannot run is refused with a
// sentence that names the op and the variants of the same folder that do load.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelProtoSchema } from "onnx-buf";
import { IntrospectError, listVariants, openModel } from "../../../src/engine";

const ROOT = path.join(__dirname, "..", "..", "..");
const ZOO = path.join(ROOT, "test", "fixtures", "zoo");

describe("model folder variants", function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-variants-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("lists exactly the variants a folder holds, fp32 first, with their sizes", () => {
    const vs = listVariants(path.join(ZOO, "llama-torchscript"));
    assert.deepEqual(
      vs.map((v) => v.variant),
      ["fp32", "fp16", "int8", "q4"],
    );
    for (const v of vs) assert.equal(v.bytes, fs.statSync(v.file).size);
    assert.deepEqual(
      listVariants(path.join(ZOO, "llama-dynamo")).map((v) => v.variant),
      ["fp32"],
    );
  });

  it("refuses a variant with an op onnxruntime has no kernel for, naming the op and the variants that load", async () => {
    const dir = path.join(tmp, "folder");
    fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
    const src = path.join(ZOO, "llama-dynamo");
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    fs.copyFileSync(path.join(src, "onnx", "model.onnx"), path.join(dir, "onnx", "model.onnx"));
    // model_q4f16.onnx: the same graph with one Sigmoid (inside SiLU) as an op from an unknown domain.
    const m = fromBinary(ModelProtoSchema, fs.readFileSync(path.join(src, "onnx", "model.onnx")));
    const sig = m.graph!.node.find((n) => n.opType === "Sigmoid")!;
    sig.opType = "FancySigmoid";
    sig.domain = "com.example";
    m.opsetImport.push({ ...m.opsetImport[0], domain: "com.example", version: 1n });
    fs.writeFileSync(path.join(dir, "onnx", "model_q4f16.onnx"), toBinary(ModelProtoSchema, m));
    assert.deepEqual(
      listVariants(dir).map((v) => v.variant),
      ["fp32", "q4f16"],
    );
    await assert.rejects(
      openModel(dir, { variant: "q4f16" }),
      (e: unknown) =>
        e instanceof IntrospectError &&
        /cannot run model_q4f16\.onnx: it has no kernel for com\.example:FancySigmoid/.test(e.message) &&
        /also has fp32 \(model\.onnx\)/.test(e.message),
    );
    const ok = await openModel(dir, { variant: "fp32" });
    await ok.dispose();
  });

  it("loads weights split over chunked external-data files (model.onnx_data, model.onnx_data_1)", async () => {
    const dir = path.join(tmp, "chunked");
    fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
    const src = path.join(ZOO, "qwen2-torchscript");
    for (const f of ["config.json", "tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const m = fromBinary(ModelProtoSchema, fs.readFileSync(path.join(src, "onnx", "model.onnx")));
    const chunks: Buffer[][] = [[], []];
    const offsets = [0, 0];
    let moved = 0;
    for (const t of m.graph!.initializer) {
      if (t.rawData.length < 4096) continue;
      const c = moved++ % 2;
      const name = c === 0 ? "model.onnx_data" : "model.onnx_data_1";
      t.externalData = [
        { key: "location", value: name },
        { key: "offset", value: String(offsets[c]) },
        { key: "length", value: String(t.rawData.length) },
      ].map((kv) => ({ ...kv, $typeName: "onnx.StringStringEntryProto" }) as never);
      t.dataLocation = 1 as never;
      chunks[c].push(Buffer.from(t.rawData));
      offsets[c] += t.rawData.length;
      t.rawData = new Uint8Array(0);
    }
    assert.ok(moved >= 4, `only ${moved} tensors moved`);
    fs.writeFileSync(path.join(dir, "onnx", "model.onnx"), toBinary(ModelProtoSchema, m));
    fs.writeFileSync(path.join(dir, "onnx", "model.onnx_data"), Buffer.concat(chunks[0]));
    fs.writeFileSync(path.join(dir, "onnx", "model.onnx_data_1"), Buffer.concat(chunks[1]));
    const [v] = listVariants(dir);
    assert.equal(
      v.bytes,
      ["model.onnx", "model.onnx_data", "model.onnx_data_1"].reduce((s, f) => s + fs.statSync(path.join(dir, "onnx", f)).size, 0),
    );
    const chunked = await openModel(dir);
    const plain = await openModel(src);
    try {
      const ids = [5, 17, 200, 33, 90, 7];
      const a = await chunked.run({ ids, capture: ["blocks.1.hook_resid_post"] });
      const b = await plain.run({ ids, capture: ["blocks.1.hook_resid_post"] });
      assert.deepEqual([...a.logits.data], [...b.logits.data]);
      assert.deepEqual([...a.captures.get("blocks.1.hook_resid_post")!.data], [...b.captures.get("blocks.1.hook_resid_post")!.data]);
    } finally {
      await chunked.dispose();
      await plain.dispose();
    }
  });
});

// Model files stay inside their folder: external data, FIFOs, devices, links, truncation, size bounds.
// Crafted models come from test/unit/helpers/craftedModels.ts (the engine's own writer).
import { fingerprint } from "../../../src/engine/model/editCache";
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IntrospectError, openModel } from "../../../src/engine";
import { scanModel, type InitializerRef, type ScannedModel } from "../../../src/engine/onnx/modelFile";
import { FileBytes } from "../../../src/engine/onnx/wire";
import { checkExternalData, checkModelFiles, declaredBytes, readModelText } from "../../../src/engine/model/modelFiles";
import { readTokenizerFiles } from "../../../src/engine/tokenizer/load";
import { craftExternalModel, craftModelWithNodes, hiddenExternalNodes, TINY_LLAMA } from "../helpers/craftedModels";

const PROMPT = [1, 5, 9, 13, 2, 40, 33];

function isError(code: string, re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof IntrospectError, `not an IntrospectError: ${String(e)}`);
    assert.strictEqual(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function mkfifo(file: string): void {
  execFileSync("mkfifo", [file]);
}

/** A scanned model with one external initializer, for the rules that need no real graph. */
function synthetic(dir: string, ext: { location: string; offset: number; length: number }, dims = [4, 4], dataType = 1): ScannedModel {
  const t: InitializerRef = { name: "w", dims, dataType, fieldStart: 0, fieldEnd: 0, payloadStart: 0, external: ext };
  return { path: path.join(dir, "model.onnx"), initializers: new Map([["w", t]]) } as unknown as ScannedModel;
}

describe("model files stay inside their folder", function () {
  this.timeout(60000);
  let tmp: string;
  let reference: Float32Array;

  before(async () => {
    const ref = await openModel(TINY_LLAMA, { editLocation: "cache", cacheDir: fs.mkdtempSync(path.join(os.tmpdir(), "introspect-ref-")) });
    reference = (await ref.run({ ids: PROMPT })).logits.data;
    await ref.dispose();
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-contain-"));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("opens and runs a model whose weights are a regular file beside it (positive control)", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "weights.bin");
    fs.writeFileSync(path.join(c.dir, "onnx", "weights.bin"), c.original);
    const m = await openModel(c.dir, { cacheDir: path.join(tmp, "cache") });
    try {
      assert.strictEqual(maxDiff((await m.run({ ids: PROMPT })).logits.data, reference), 0);
    } finally {
      m.removeWrittenFiles();
      await m.dispose();
    }
    // The same weights handed over as buffers (edited graph outside the folder).
    const b = await openModel(c.dir, { cacheDir: path.join(tmp, "cache"), editLocation: "cache" });
    try {
      assert.strictEqual(maxDiff((await b.run({ ids: PROMPT })).logits.data, reference), 0);
    } finally {
      await b.dispose();
    }
  });

  it("accepts a location with a detour and a link, as long as both stay inside the folder", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "sub/../data/w.bin");
    fs.mkdirSync(path.join(c.dir, "onnx", "data"));
    fs.writeFileSync(path.join(c.dir, "onnx", "real.bin"), c.original);
    fs.symlinkSync("../real.bin", path.join(c.dir, "onnx", "data", "w.bin"));
    fs.mkdirSync(path.join(c.dir, "onnx", "sub"));
    const files = checkExternalData(scanned(c.onnx));
    assert.strictEqual(files.get("sub/../data/w.bin")?.realPath, fs.realpathSync(path.join(c.dir, "onnx", "real.bin")));
  });

  it("refuses ../../etc/hostname, before onnxruntime or the cache read it", async () => {
    const c = craftExternalModel(path.join(tmp, "a", "b", "m"), "../../etc/hostname");
    await assert.rejects(
      openModel(c.dir, { editLocation: "cache", cacheDir: path.join(tmp, "cache") }),
      isError("corrupt-model", /outside the model's folder/),
    );
    assert.throws(() => checkModelFiles(c.onnx), isError("corrupt-model", /\.\.\/\.\.\/etc\/hostname, outside the model's folder/));
    assert.ok(!fs.existsSync(path.join(tmp, "cache")), "nothing was cached");
  });

  it("finds external data hidden in a node attribute or a subgraph, and applies the same rules", async () => {
    const { attribute, subgraph } = hiddenExternalNodes("../../etc/hostname");
    const a = craftModelWithNodes(path.join(tmp, "a", "b", "m1"), [attribute]);
    assert.throws(
      () => checkModelFiles(a),
      isError("corrupt-model", /tensor "hidden_value" keeps its weights at \.\.\/\.\.\/etc\/hostname, outside/),
    );
    const g = craftModelWithNodes(path.join(tmp, "a", "b", "m2"), [subgraph]);
    await assert.rejects(
      openModel(path.join(tmp, "a", "b", "m2")),
      isError("corrupt-model", /tensor "hidden_body_weight" keeps its weights at/),
    );
    assert.throws(() => checkModelFiles(g), isError("corrupt-model", /outside the model's folder/));
    const sp = craftModelWithNodes(path.join(tmp, "a", "b", "m4"), [hiddenExternalNodes("../../etc/hostname").sparse]);
    assert.throws(() => checkModelFiles(sp), isError("corrupt-model", /tensor "hidden_sparse_values" keeps its weights at/));
    // Inside the folder and long enough, the same nodes pass the check.
    const ok = hiddenExternalNodes("w.bin");
    const f = craftModelWithNodes(path.join(tmp, "m3"), [ok.attribute, ok.subgraph]);
    fs.writeFileSync(path.join(tmp, "m3", "onnx", "w.bin"), Buffer.alloc(16));
    assert.doesNotThrow(() => checkModelFiles(f));
    fs.writeFileSync(path.join(tmp, "m3", "onnx", "w.bin"), Buffer.alloc(8));
    assert.throws(() => checkModelFiles(f), isError("corrupt-model", /w\.bin is 8 bytes, but tensor "hidden_value" needs bytes 0-16/));
  });

  it("refuses /dev/zero (an absolute location)", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "/dev/zero");
    await assert.rejects(openModel(c.dir), isError("corrupt-model", /absolute path \/dev\/zero/));
  });

  it("refuses a FIFO as external data without blocking on it", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "w.fifo");
    mkfifo(path.join(c.dir, "onnx", "w.fifo"));
    const t0 = Date.now();
    await assert.rejects(openModel(c.dir), isError("corrupt-model", /w\.fifo is a named pipe \(FIFO\), not a regular file/));
    assert.ok(Date.now() - t0 < 10000);
  });

  it("refuses a FIFO or a device as the .onnx file itself, and FIFOs as JSON files", async () => {
    const fifo = path.join(tmp, "model.onnx");
    mkfifo(fifo);
    await assert.rejects(openModel(fifo), isError("corrupt-model", /named pipe \(FIFO\)/));
    assert.throws(() => checkModelFiles(fifo), isError("corrupt-model", /named pipe/));
    const dev = path.join(tmp, "zero.onnx");
    fs.symlinkSync("/dev/zero", dev);
    await assert.rejects(openModel(dev), isError("corrupt-model", /character device/));
    const dir = path.join(tmp, "m");
    fs.cpSync(TINY_LLAMA, dir, { recursive: true, filter: (s) => !s.includes("reference") });
    fs.rmSync(path.join(dir, "tokenizer.json"));
    mkfifo(path.join(dir, "tokenizer.json"));
    assert.throws(() => readTokenizerFiles(dir), isError("corrupt-model", /named pipe/));
    fs.rmSync(path.join(dir, "config.json"));
    mkfifo(path.join(dir, "config.json"));
    await assert.rejects(openModel(dir), isError("corrupt-model", /config\.json .* named pipe/));
  });

  it("refuses a link that leads out of the folder", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "weights.bin");
    fs.mkdirSync(path.join(tmp, "elsewhere"));
    fs.writeFileSync(path.join(tmp, "elsewhere", "secret.bin"), c.original); // valid bytes: only the place is wrong
    fs.symlinkSync(path.join(tmp, "elsewhere", "secret.bin"), path.join(c.dir, "onnx", "weights.bin"));
    await assert.rejects(openModel(c.dir), isError("corrupt-model", /is a link to .*secret\.bin, outside the model's folder/));
    // A linked folder on the way out counts the same.
    fs.rmSync(path.join(c.dir, "onnx", "weights.bin"));
    const d = craftExternalModel(path.join(tmp, "n"), "up/secret.bin");
    fs.symlinkSync(path.join(tmp, "elsewhere"), path.join(d.dir, "onnx", "up"));
    await assert.rejects(openModel(d.dir), isError("corrupt-model", /outside the model's folder/));
  });

  it("refuses a truncated data file, naming the bytes the tensor needs", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "weights.bin");
    fs.writeFileSync(path.join(c.dir, "onnx", "weights.bin"), c.original.subarray(0, Math.floor(c.original.length / 2)));
    await assert.rejects(
      openModel(c.dir),
      isError("corrupt-model", /weights\.bin is \d+ bytes, but tensor .* needs bytes \d+-\d+: the file is truncated/),
    );
  });

  it("says a missing data file is missing", async () => {
    const c = craftExternalModel(path.join(tmp, "m"), "weights.bin");
    await assert.rejects(openModel(c.dir), isError("model-not-found", /weights file weights\.bin .* is missing/));
  });

  it("allows the Hugging Face hub cache layout: snapshot links into the same repository's blobs", async () => {
    const repo = path.join(tmp, "hub", "models--org--tiny");
    const snap = path.join(repo, "snapshots", "0123abcd");
    const c = craftExternalModel(path.join(tmp, "staging"), "model.onnx_data");
    fs.mkdirSync(path.join(repo, "blobs"), { recursive: true });
    fs.mkdirSync(path.join(snap, "onnx"), { recursive: true });
    const blob = (name: string, data: Buffer, link: string, up: string) => {
      fs.writeFileSync(path.join(repo, "blobs", name), data);
      fs.symlinkSync(`${up}blobs/${name}`, path.join(snap, link));
    };
    blob("b1", fs.readFileSync(c.onnx), "onnx/model.onnx", "../../../");
    blob("b2", c.original, "onnx/model.onnx_data", "../../../");
    blob("b3", fs.readFileSync(path.join(c.dir, "config.json")), "config.json", "../../");
    blob("b4", fs.readFileSync(path.join(c.dir, "tokenizer.json")), "tokenizer.json", "../../");
    const m = await openModel(snap, { editLocation: "cache", cacheDir: path.join(tmp, "cache") });
    try {
      assert.strictEqual(maxDiff((await m.run({ ids: PROMPT })).logits.data, reference), 0);
    } finally {
      await m.dispose();
    }
    // A link into another repository's blobs is not part of this model.
    const other = path.join(tmp, "hub", "models--evil--x", "blobs");
    fs.mkdirSync(other, { recursive: true });
    fs.writeFileSync(path.join(other, "b2"), c.original);
    fs.rmSync(path.join(snap, "onnx", "model.onnx_data"));
    fs.symlinkSync("../../../../models--evil--x/blobs/b2", path.join(snap, "onnx", "model.onnx_data"));
    await assert.rejects(openModel(snap), isError("corrupt-model", /is a link to .*models--evil--x.*, outside the model's folder/));
  });

  it("checks offsets and lengths against the tensor's shape and type", () => {
    const dir = tmp;
    fs.writeFileSync(path.join(dir, "w.bin"), Buffer.alloc(64));
    const ok = checkExternalData(synthetic(dir, { location: "w.bin", offset: 0, length: 64 }));
    assert.strictEqual(ok.get("w.bin")?.needed, 64);
    // Length missing: the shape decides (4x4 float32 = 64 bytes).
    assert.strictEqual(checkExternalData(synthetic(dir, { location: "w.bin", offset: 0, length: -1 })).get("w.bin")?.needed, 64);
    const cases: [Parameters<typeof synthetic>[1], RegExp][] = [
      [{ location: "w.bin", offset: 0, length: 32 }, /declares 32 bytes of external data, but its shape and type need 64/],
      [{ location: "w.bin", offset: 8, length: 64 }, /needs bytes 8-72: the file is truncated/],
      [{ location: "w.bin", offset: NaN, length: 64 }, /invalid external-data offset/],
      [{ location: "w.bin", offset: -4, length: 64 }, /invalid external-data offset/],
      [{ location: "", offset: 0, length: 64 }, /empty or invalid location/],
      [{ location: ".", offset: 0, length: 64 }, /names the model's folder itself/],
      [{ location: "w.bin\0x", offset: 0, length: 64 }, /empty or invalid location/],
    ];
    for (const [ext, re] of cases)
      assert.throws(() => checkExternalData(synthetic(dir, ext)), isError("corrupt-model", re), JSON.stringify(ext));
    assert.strictEqual(declaredBytes({ dims: [3, 5], dataType: 22 }), 8, "int4 packs two per byte");
    assert.strictEqual(declaredBytes({ dims: [3], dataType: 8 }), undefined, "strings have no fixed size");
  });

  it("bounds every JSON read", () => {
    const f = path.join(tmp, "config.json");
    fs.writeFileSync(f, Buffer.alloc(2048, 0x20));
    assert.strictEqual(readModelText(f, "config.json", 4096).length, 2048);
    assert.throws(
      () => readModelText(f, "config.json", 1024),
      isError("corrupt-model", /config\.json .* is 2048 bytes, more than the 1024 bytes Introspect reads/),
    );
  });

  it("writes nothing into a folder without write permission, even as root", async () => {
    const dir = path.join(tmp, "m");
    fs.cpSync(TINY_LLAMA, dir, { recursive: true, filter: (s) => !s.includes("reference") && !s.includes(".introspect-") });
    fs.chmodSync(path.join(dir, "onnx"), 0o555);
    const m = await openModel(dir, { cacheDir: path.join(tmp, "cache") });
    try {
      await m.run({ ids: PROMPT, capture: ["blocks.0.hook_resid_post"] });
    } finally {
      await m.dispose();
    }
    assert.deepStrictEqual(fs.readdirSync(path.join(dir, "onnx")).sort(), ["model.onnx", "model_fp16.onnx"]);
    assert.ok(fs.readdirSync(path.join(tmp, "cache"), { recursive: true }).some((f) => String(f).includes(".introspect-")));
  });

  it("removes temp graphs that killed runs left in the cache, and keeps a live writer's", async () => {
    const dir = path.join(tmp, "m");
    fs.cpSync(TINY_LLAMA, dir, { recursive: true, filter: (s) => !s.includes("reference") && !s.includes(".introspect-") });
    const cache = path.join(tmp, "cache-temps");
    // The model's cache folder (named by its content fingerprint), as a killed earlier run left it.
    const onnx = path.join(dir, "onnx", "model.onnx");
    const bytes = new FileBytes(onnx);
    const folder = path.join(cache, fingerprint(bytes, fs.statSync(onnx).mtimeMs));
    bytes.close();
    fs.mkdirSync(folder, { recursive: true });
    const dead = path.join(folder, "model.introspect-0123456789abcdef0123.onnx.4194999.tmp");
    const live = path.join(folder, `model.introspect-fedcba9876543210fedc.onnx.${process.ppid}.tmp`);
    const other = path.join(folder, "notes.4194999.tmp");
    for (const f of [dead, live, other]) fs.writeFileSync(f, "half a graph");
    const m = await openModel(dir, { cacheDir: cache });
    assert.strictEqual(path.dirname(m.writtenFiles[0]), folder);
    await m.dispose();
    assert.ok(!fs.existsSync(dead), "the dead run's temp file is gone");
    assert.ok(fs.existsSync(live), "a running process's temp file stays");
    assert.ok(fs.existsSync(other), "files that are not ours stay");
    assert.ok(!fs.readdirSync(path.join(dir, "onnx")).some((f) => f.includes(".introspect-")), "nothing beside the model");
  });
});

function scanned(onnx: string): ScannedModel {
  const src = new FileBytes(onnx);
  try {
    return scanModel(onnx, src, 0);
  } finally {
    src.close();
  }
}

// The model picker's listing: demo models, workspace model folders and the hub cache, read from
// config.json and file stats only, never following a hub link out of its repository's blobs/.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describeModelFolder, hubCacheDir, listCandidateModels, modelName } from "../../../src/engine";
import { openModel } from "../../../src/engine";
import { resolveOnnxFile } from "../../../src/server/handlers/model";
import { addHubRepo } from "../helpers/fakeHub";

const ROOT = path.resolve(__dirname, "../../..");
const ZOO_LLAMA = path.join(ROOT, "test", "fixtures", "zoo", "llama-torchscript");
const MERGED = path.join(ROOT, "test", "fixtures", "merged", "llama");

describe("model picker listing", () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-candidates-"))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("finds the hub cache where HF_HUB_CACHE, HF_HOME or the home folder put it", () => {
    assert.strictEqual(hubCacheDir({ HF_HOME: "/x" }, "/home/u"), "/x/hub");
    assert.strictEqual(hubCacheDir({ HF_HOME: "/x", HF_HUB_CACHE: "/y" }, "/home/u"), "/y");
    assert.strictEqual(hubCacheDir({}, "/home/u"), "/home/u/.cache/huggingface/hub");
  });

  it("lists hub snapshots through their blob links with architecture, layers, width, variants and size", () => {
    const hub = path.join(tmp, "hub");
    const r = addHubRepo(hub, "tiny-org/llama-merged", MERGED);
    addHubRepo(hub, "tiny-org/llama-zoo", ZOO_LLAMA);
    const found = listCandidateModels({ hubCache: hub });
    assert.deepStrictEqual(
      found.map((c) => [c.source, c.name, c.architecture, c.layers, c.width]),
      [
        ["hub", "tiny-org/llama-merged", "llama", 3, 32],
        ["hub", "tiny-org/llama-zoo", "llama", 3, 32],
      ],
    );
    const m = found[0];
    assert.strictEqual(m.path, r.snapshot);
    assert.strictEqual(m.revision, r.revision);
    assert.deepStrictEqual(
      m.variants.map((v) => path.basename(v.file)),
      [
        "decoder_model_merged.onnx",
        "decoder_model_merged_fp16.onnx",
        "decoder_model_merged_q4.onnx",
        "decoder_model_merged_quantized.onnx",
      ],
    );
    // External data counts with its graph; the size on disk is the blobs' (each once).
    const blobBytes = fs.readdirSync(r.blobs).reduce((s, b) => s + fs.statSync(path.join(r.blobs, b)).size, 0);
    assert.strictEqual(m.bytes, blobBytes);
    assert.strictEqual(
      m.variants[0].bytes,
      fs.statSync(path.join(MERGED, "onnx", "decoder_model_merged.onnx")).size +
        fs.statSync(path.join(MERGED, "onnx", "decoder_model_merged.onnx_data")).size,
    );
  });

  it("a hub snapshot opens under its repository's name, and the host picks its merged decoder without a variant set", async () => {
    const r = addHubRepo(path.join(tmp, "hub"), "tiny-org/llama-merged", MERGED);
    assert.strictEqual(modelName(r.snapshot), "tiny-org/llama-merged");
    assert.strictEqual(modelName(path.join(tmp, "plain-folder")), "plain-folder");
    assert.strictEqual(resolveOnnxFile(r.snapshot, ""), path.join(r.snapshot, "onnx", "decoder_model_merged.onnx"));
    assert.strictEqual(resolveOnnxFile(r.snapshot, "q4"), path.join(r.snapshot, "onnx", "decoder_model_merged_q4.onnx"));
    assert.strictEqual(
      resolveOnnxFile(r.snapshot, "decoder_model_merged_fp16"),
      path.join(r.snapshot, "onnx", "decoder_model_merged_fp16.onnx"),
    );
    const m = await openModel(r.snapshot, { variant: "q4", cacheDir: path.join(tmp, "cache"), warm: false });
    assert.strictEqual(m.info.id, "tiny-org/llama-merged:q4");
    await m.dispose();
  });

  it("leaves out hub links that lead outside the repository's blobs/, and never opens a model", () => {
    const hub = path.join(tmp, "hub");
    const a = addHubRepo(hub, "org/a", ZOO_LLAMA);
    const b = addHubRepo(hub, "org/b", ZOO_LLAMA, (rel) => rel === "config.json");
    // b's config.json is a link into a's blobs (another repository), its model_fp16 a link to a file outside the cache.
    const aConfig = fs.realpathSync(path.join(a.snapshot, "config.json"));
    fs.symlinkSync(path.relative(b.snapshot, aConfig), path.join(b.snapshot, "config.json"));
    const outside = path.join(tmp, "outside.onnx");
    fs.writeFileSync(outside, "not a model");
    fs.rmSync(path.join(b.snapshot, "onnx", "model_fp16.onnx"));
    fs.symlinkSync(outside, path.join(b.snapshot, "onnx", "model_fp16.onnx"));
    // A model file that is not ONNX at all still lists: nothing is parsed.
    fs.rmSync(path.join(b.snapshot, "onnx", "model_q4.onnx"));
    const garbage = path.join(b.blobs, "0".repeat(64));
    fs.writeFileSync(garbage, "garbage");
    fs.symlinkSync(path.relative(path.join(b.snapshot, "onnx"), garbage), path.join(b.snapshot, "onnx", "model_q4.onnx"));
    const c = listCandidateModels({ hubCache: hub }).find((x) => x.name === "org/b")!;
    assert.deepStrictEqual(
      c.variants.map((v) => v.variant),
      ["fp32", "int8", "q4"],
    );
    assert.strictEqual(c.architecture, undefined);
    assert.match(c.problem ?? "", /no config\.json/);
  });

  it("finds model folders in the workspace, not under node_modules or through links, and the demo models", () => {
    const ws = path.join(tmp, "ws");
    fs.cpSync(MERGED, path.join(ws, "models", "merged"), { recursive: true });
    fs.cpSync(ZOO_LLAMA, path.join(ws, "node_modules", "pkg", "llama"), { recursive: true });
    fs.mkdirSync(path.join(ws, "more"));
    fs.symlinkSync(ZOO_LLAMA, path.join(ws, "more", "linked"));
    const demo = path.join(tmp, "demo");
    fs.cpSync(ZOO_LLAMA, path.join(demo, "demo-llama"), { recursive: true });
    const found = listCandidateModels({ demoRoots: [demo], workspaceFolders: [ws], hubCache: null });
    assert.deepStrictEqual(
      found.map((c) => [c.source, c.name, c.variants.length]),
      [
        ["demo", "demo-llama", 4],
        ["workspace", path.join("models", "merged"), 4],
      ],
    );
    assert.strictEqual(describeModelFolder(path.join(tmp, "none"), "workspace"), undefined);
  });
});

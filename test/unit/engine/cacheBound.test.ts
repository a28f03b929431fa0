// The edited-graph cache is bounded by its own bytes: least recently used model folders go first,
// the model in use stays, and hard-linked weights count only once the model's own file is gone.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cacheMaxBytes, DEFAULT_CACHE_MAX_BYTES, ownBytes, pruneModels } from "../../../src/engine/model/editCache";
import { openModel } from "../../../src/engine";

const ZOO = path.join(__dirname, "../../fixtures/zoo");

describe("cache bounded by size (least recently used first)", function () {
  this.timeout(120000);
  let tmp: string;
  const saved = process.env.INTROSPECT_CACHE_MAX_BYTES;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-cachebound-"))));
  afterEach(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (saved === undefined) delete process.env.INTROSPECT_CACHE_MAX_BYTES;
    else process.env.INTROSPECT_CACHE_MAX_BYTES = saved;
  });

  /** A model folder in the cache with one edited file of `bytes`, last used `age` seconds ago. */
  function entry(root: string, n: number, bytes: number, age: number): string {
    const dir = path.join(root, n.toString(16).padStart(32, "0"));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `model.introspect-${n}.onnx`), Buffer.alloc(bytes));
    const t = new Date(Date.now() - age * 1000);
    fs.utimesSync(dir, t, t);
    return dir;
  }

  it("reads the bound from INTROSPECT_CACHE_MAX_BYTES, else 2 GiB", () => {
    assert.strictEqual(cacheMaxBytes({}), DEFAULT_CACHE_MAX_BYTES);
    assert.strictEqual(cacheMaxBytes({ INTROSPECT_CACHE_MAX_BYTES: "1000" }), 1000);
    assert.strictEqual(cacheMaxBytes({ INTROSPECT_CACHE_MAX_BYTES: "nonsense" }), DEFAULT_CACHE_MAX_BYTES);
  });

  it("removes the least recently used folders until the rest fit, never the one in use", () => {
    const root = path.join(tmp, "cache");
    const oldest = entry(root, 1, 1000, 400);
    const old = entry(root, 2, 1000, 300);
    const recent = entry(root, 3, 1000, 200);
    const inUse = entry(root, 4, 1000, 100);
    // A weight hard-linked from a model folder that still exists costs the cache nothing.
    const weight = path.join(tmp, "model.onnx_data");
    fs.writeFileSync(weight, Buffer.alloc(50000));
    fs.linkSync(weight, path.join(recent, "model.onnx_data"));
    assert.strictEqual(ownBytes(recent), 1000);
    const removed = pruneModels(root, inUse, 2500);
    assert.deepStrictEqual(removed, [oldest, old]);
    assert.ok(fs.existsSync(recent) && fs.existsSync(inUse));
    // Alone over the bound, the folder in use stays.
    assert.deepStrictEqual(pruneModels(root, inUse, 10), [recent]);
    assert.ok(fs.existsSync(inUse));
    // Once the model's own file is gone, the cache's link is what holds the weight's bytes.
    const again = entry(root, 5, 1000, 50);
    fs.linkSync(weight, path.join(again, "model.onnx_data"));
    fs.rmSync(weight);
    assert.strictEqual(ownBytes(again), 51000);
  });

  it("opening models under a small bound evicts the least recently used model's edited graphs", async () => {
    const cacheDir = path.join(tmp, "cache");
    process.env.INTROSPECT_CACHE_MAX_BYTES = "1";
    const a = await openModel(path.join(ZOO, "llama-torchscript"), { cacheDir });
    const aDir = path.dirname(a.writtenFiles[0]);
    await a.dispose();
    assert.ok(fs.existsSync(aDir));
    const b = await openModel(path.join(ZOO, "gpt2-torchscript"), { cacheDir });
    const bDir = path.dirname(b.writtenFiles[0]);
    await b.run({ ids: [1, 2, 3], capture: ["blocks.0.hook_resid_post"] });
    await b.dispose();
    assert.ok(!fs.existsSync(aDir), "the older model's cache folder is still there");
    assert.deepStrictEqual(
      fs.readdirSync(cacheDir).filter((d) => /^[0-9a-f]{32}$/.test(d)),
      [path.basename(bDir)],
    );
    // Under the default bound both stay.
    delete process.env.INTROSPECT_CACHE_MAX_BYTES;
    const a2 = await openModel(path.join(ZOO, "llama-torchscript"), { cacheDir });
    await a2.dispose();
    assert.strictEqual(fs.readdirSync(cacheDir).filter((d) => /^[0-9a-f]{32}$/.test(d)).length, 2);
  });
});

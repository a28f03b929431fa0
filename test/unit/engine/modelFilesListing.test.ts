// Nothing is written where the model lives: after probing (captures and the lens), steering
// (a steered run and steered generation with the key/value cache) and patching (single patches and a
// patching sweep that reuses a prefix's past), the listing of the model's folder is what it was, for
// a merged decoder (both branches run) in a writable folder, in a read-only one as a user without
// root, and for a Hugging Face hub snapshot, which is left as it is even where it could be written.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel } from "../../../src/engine";
import { logitLens } from "../../../src/engine";
import { generate, modelDecoderFactory } from "../../../src/engine";
import { modelPatchRunner } from "../../../src/engine";
import { patchingSweep } from "../../../src/engine";
import type { HookName } from "../../../src/engine";
import { addHubRepo } from "../helpers/fakeHub";

const ROOT = path.resolve(__dirname, "../../..");
const MERGED = path.join(ROOT, "test", "fixtures", "merged", "llama");
const CLEAN = [59, 263, 82, 355, 273, 93, 271, 330];
const CORRUPT = [59, 263, 82, 355, 273, 93, 272, 330];

/** Every entry under `dir`: path, kind, size, mode, mtime and link target, sorted. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[])
    .map((rel) => {
      const st = fs.lstatSync(path.join(dir, rel));
      const what = st.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(dir, rel))}` : st.isFile() ? `${st.size}` : "dir";
      return `${rel} ${what} ${(st.mode & 0o777).toString(8)} ${st.mtimeMs}`;
    })
    .sort();
}

/** Probe, steer and patch a model: every kind of pass that makes edited graphs, in both branches. */
async function exercise(dir: string, cache: string): Promise<number> {
  const m = await openModel(dir, { cacheDir: cache });
  try {
    const site: HookName = "blocks.1.hook_resid_pre";
    const clean = await m.run({ ids: CLEAN, capture: [site, "blocks.0.hook_resid_post"] });
    await logitLens(m, CLEAN, { k: 1 });
    const vector = new Float32Array(m.info.dModel).fill(0.5);
    await m.run({ ids: CLEAN, steer: [{ site: "blocks.0.hook_resid_post", vector }] });
    const steer = new Map<HookName, Float32Array>([["blocks.0.hook_resid_post", vector]]);
    let n = 0;
    for await (const t of generate(modelDecoderFactory(m), CLEAN, { maxTokens: 4, steer })) n += t.id >= 0 ? 1 : 0;
    assert.strictEqual(n, 4);
    await m.run({ ids: CORRUPT, patch: [{ site, positions: [6], values: clean.captures.get(site)! }] });
    const runner = modelPatchRunner(
      m,
      Array.from({ length: m.info.numLayers }, (_, l) => `blocks.${l}.hook_resid_pre` as HookName),
    );
    await patchingSweep(runner, { cleanIds: CLEAN, corruptIds: CORRUPT, correct: 27, wrong: 369, sites: ["hook_resid_pre"] });
    return m.writtenFiles.length + ("withPast" in m ? (m.withPast as { writtenFiles: string[] }).writtenFiles.length : 0);
  } finally {
    await m.dispose();
  }
}

describe("model folders are left as they were", function () {
  this.timeout(300000);
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-listing-"))));
  afterEach(() => {
    for (const d of fs.readdirSync(tmp, { recursive: true, encoding: "utf8" }) as string[]) {
      const p = path.join(tmp, d);
      if (fs.lstatSync(p).isDirectory()) fs.chmodSync(p, 0o755);
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("a merged decoder in a writable folder: probing, steering and patching change nothing in it", async () => {
    const dir = path.join(tmp, "llama");
    fs.cpSync(MERGED, dir, { recursive: true });
    const before = listing(dir);
    const written = await exercise(dir, path.join(tmp, "cache"));
    assert.ok(written >= 4, `only ${written} edited graphs were made`);
    assert.deepStrictEqual(listing(dir), before);
  });

  // "as a user without root" in the title: as root, npm test runs this test as INTROSPECT_TEST_USER.
  it("a merged decoder in a read-only folder as a user without root: probing, steering and patching work and change nothing", async function () {
    if (process.getuid?.() === 0) this.skip(); // root ignores permissions
    const dir = path.join(tmp, "llama");
    fs.cpSync(MERGED, dir, { recursive: true });
    for (const d of [path.join(dir, "onnx"), dir]) fs.chmodSync(d, 0o555);
    const before = listing(dir);
    const written = await exercise(dir, path.join(tmp, "cache"));
    assert.ok(written >= 4, `only ${written} edited graphs were made`);
    assert.deepStrictEqual(listing(dir), before);
  });

  it("a hub snapshot (writable, links into blobs/): probing, steering and patching change nothing in the repository", async () => {
    const hub = path.join(tmp, "hub");
    const r = addHubRepo(hub, "tiny-org/llama-merged", MERGED);
    const repoDir = path.dirname(path.dirname(r.snapshot));
    const before = listing(repoDir);
    const written = await exercise(r.snapshot, path.join(tmp, "cache"));
    assert.ok(written >= 4);
    assert.deepStrictEqual(listing(repoDir), before);
    assert.deepStrictEqual(fs.readdirSync(hub), ["models--tiny-org--llama-merged"]);
  });
});

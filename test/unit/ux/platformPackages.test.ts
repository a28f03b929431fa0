// The platform packages (npm run package -- --all-targets): one .vsix per VS Code target, each
// marked with its target and holding that target's onnxruntime binaries and no other's; sizes
// printed. Only linux-x64 can be run on this machine (README "Platforms").
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const REPO = path.resolve(__dirname, "../../..");
const BIN = "node_modules/onnxruntime-node/bin/napi-v6";

interface Entry {
  name: string;
  size: number;
}

/** The zip's entries with their uncompressed sizes (unzip -Z -l: size in the 4th column... parsed from `unzip -l`). */
function entries(vsix: string): Entry[] {
  const out = execFileSync("unzip", ["-l", vsix], { encoding: "utf8", maxBuffer: 1 << 26 });
  return out
    .split("\n")
    .map((l) => /^\s*(\d+)\s+\S+\s+\S+\s+(.+)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ size: Number(m[1]), name: m[2].trim() }));
}

describe("platform packages (one .vsix per target)", function () {
  this.timeout(900000);
  let targets: Record<string, { dir: string; files: string[] }>;
  let packageName: (t: string) => string;

  before(async () => {
    const platforms = (await import(path.join(REPO, "scripts/platforms.mjs"))) as {
      TARGETS: typeof targets;
      packageName: typeof packageName;
    };
    targets = platforms.TARGETS;
    packageName = platforms.packageName;
    for (const t of Object.keys(targets)) fs.rmSync(path.join(REPO, packageName(t)), { force: true });
    execFileSync(process.execPath, ["scripts/package.mjs", "--all-targets"], { cwd: REPO, stdio: "pipe", maxBuffer: 1 << 26 });
  });

  it("lists five targets: linux-x64, linux-arm64, darwin-arm64, win32-x64, win32-arm64", () => {
    assert.deepStrictEqual(Object.keys(targets).sort(), ["darwin-arm64", "linux-arm64", "linux-x64", "win32-arm64", "win32-x64"]);
  });

  it("each package names its target and holds exactly its own binaries, at their sizes on disk", () => {
    const rows: string[] = [];
    for (const [target, t] of Object.entries(targets)) {
      const vsix = path.join(REPO, packageName(target));
      assert.ok(fs.existsSync(vsix), `${packageName(target)} was written`);
      const list = entries(vsix);
      const bins = list.filter((e) => e.name.includes("onnxruntime-node/bin/"));
      const expected = t.files.map((f) => `extension/${BIN}/${t.dir}/${f}`).sort();
      assert.deepStrictEqual(bins.map((e) => e.name).sort(), expected, `${target}: its binaries and no other platform's`);
      for (const b of bins) {
        const onDisk = fs.statSync(path.join(REPO, b.name.slice("extension/".length))).size;
        assert.strictEqual(b.size, onDisk, `${b.name} stored whole`);
      }
      const manifest = execFileSync("unzip", ["-p", vsix, "extension.vsixmanifest"], { encoding: "utf8" });
      assert.match(manifest, new RegExp(`TargetPlatform="${target}"`), `${target}: the manifest names the target`);
      // The rest of the package is the same for every target: bundles, media, demo models.
      for (const must of ["extension/dist/extension.js", "extension/dist/server.js", "extension/models/demo-llama/onnx/model.onnx"])
        assert.ok(
          list.some((e) => e.name === must),
          `${target} holds ${must}`,
        );
      const binBytes = bins.reduce((n, b) => n + b.size, 0);
      const total = list.reduce((n, e) => n + e.size, 0);
      const size = fs.statSync(vsix).size;
      // Compressed, the package is smaller than its contents, and the binaries are most of it.
      assert.ok(size < total, `${target}: ${size} < ${total}`);
      assert.ok(size > binBytes / 4, `${target}: the package (${size} B) carries its binaries (${binBytes} B)`);
      rows.push(
        `${target.padEnd(13)} ${(size / 2 ** 20).toFixed(1).padStart(6)} MB  (${bins.length} binaries, ${(binBytes / 2 ** 20).toFixed(1)} MB unpacked)`,
      );
    }
    console.log(`      ${rows.join("\n      ")}`);
  });
});

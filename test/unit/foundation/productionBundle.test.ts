// The shipped extension bundle carries no test hooks: src/extension/testHook.ts (which loads any
// module named by INTROSPECT_EXTHOST_SUITE) is compiled out of `--production` builds. Each build goes
// to its own temp folder, so dist/ is left alone.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../../..");
/** Strings only the test hook has: the variables it reads and the suite function it calls. */
const HOOK_MARKS = ["INTROSPECT_EXTHOST_SUITE", "INTROSPECT_EXTHOST_RESULTS", "runToFile"];

function build(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const e = { ...process.env, ...env };
  if (!("INTROSPECT_TEST_HOOKS" in env)) delete e.INTROSPECT_TEST_HOOKS;
  execFileSync(process.execPath, ["esbuild.mjs", ...args, "--only", "extension", "--outdir", dir], { cwd: ROOT, env: e, stdio: "pipe" });
  return fs.readFileSync(path.join(dir, "extension.js"), "utf8");
}

describe("production bundle", function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-bundle-"));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("has no test hook in a --production build", () => {
    const js = build(path.join(tmp, "prod"), ["--production"]);
    assert.ok(js.length > 10000, "a real bundle was built");
    assert.ok(js.includes("introspect.restartHost"), "the bundle holds the extension's own code");
    for (const m of HOOK_MARKS) assert.ok(!js.includes(m), `production bundle contains ${m}`);
  });

  it("keeps the hook in development builds and in the test build (so the check above can fail)", () => {
    const dev = build(path.join(tmp, "dev"), []);
    for (const m of HOOK_MARKS) assert.ok(dev.includes(m), `development bundle lacks ${m}`);
    const test = build(path.join(tmp, "test"), ["--production"], { INTROSPECT_TEST_HOOKS: "1" });
    assert.ok(test.includes("INTROSPECT_EXTHOST_SUITE"));
  });
});

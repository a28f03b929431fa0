// Runs the extension-host suite inside code-server's extension host: the installed extension
// sees INTROSPECT_EXTHOST_SUITE and runs dist/test/exthost.js, writing results to a JSON file
// this script waits for. A browser must connect for code-server to start an extension host.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { E2E_DIR, REPO } from "../e2e/harness/codeServer";
import { startSession, type Session } from "../e2e/harness/session";

async function main(): Promise<number> {
  const suite = path.join(REPO, "dist/test/exthost.js");
  if (!fs.existsSync(suite)) throw new Error(`${suite} not built: run "npm run build"`);
  // The shipped vsix has no test hook (esbuild.mjs compiles it out of production builds): install
  // the test build of the same bundle instead.
  const vsix = path.join(REPO, "introspect-test.vsix");
  execFileSync(process.execPath, [path.join(REPO, "scripts/package.mjs"), "--test-hooks"], { cwd: REPO, stdio: "inherit" });
  const results = path.join(E2E_DIR, `runs/exthost-results-${process.pid}.json`);
  fs.rmSync(results, { force: true });
  let s: Session | undefined;
  try {
    s = await startSession("exthost", { INTROSPECT_EXTHOST_SUITE: suite, INTROSPECT_EXTHOST_RESULTS: results }, { vsix });
    const end = Date.now() + 180000;
    while (!fs.existsSync(results)) {
      if (Date.now() > end) throw new Error("the extension-host suite wrote no results within 180 s");
      await new Promise((r) => setTimeout(r, 500));
    }
    await s.wb.screenshot("exthost suite");
  } finally {
    await s?.close();
  }
  const r = JSON.parse(fs.readFileSync(results, "utf8")) as {
    passed: number;
    failed: number;
    pending?: number;
    tests: { title: string; state: string; error?: string }[];
  };
  for (const t of r.tests) {
    console.log(`  ${t.state === "passed" ? "✔" : t.state === "failed" ? "✗" : "-"} ${t.title}`);
    if (t.error) console.log(`      ${t.error.split("\n").slice(0, 6).join("\n      ")}`);
  }
  console.log(`\n  ${r.passed} passing`);
  if (r.pending) console.log(`  ${r.pending} pending`);
  if (r.failed) console.log(`  ${r.failed} failing`);
  return r.failed === 0 && r.passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    console.log("\n  0 passing\n  1 failing");
    process.exit(1);
  },
);

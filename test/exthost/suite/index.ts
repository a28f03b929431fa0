// Entry of the extension-host test suite, bundled to dist/test/exthost.js (not shipped).
// Two ways in: `run()` for @vscode/test-electron (extensionTestsPath), and `runToFile(path)`,
// called by the extension itself when INTROSPECT_EXTHOST_SUITE names this file (code-server).
import * as fs from "fs";
import * as path from "path";

export interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  tests: { title: string; state: "passed" | "failed" | "pending"; error?: string; durationMs?: number }[];
}

export async function runSuite(): Promise<SuiteResults> {
  // mocha is resolved at runtime from the repository's node_modules (the bundle marks it external).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const MochaCtor = require("mocha") as typeof import("mocha");
  const mocha = new MochaCtor({ ui: "bdd", timeout: 60000, color: false, reporter: "spec", forbidOnly: true });
  // Define describe/it as globals, then evaluate the test modules (lazily required here on purpose).
  mocha.suite.emit("pre-require", globalThis, "exthost", mocha);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("./extension.test");
  const results: SuiteResults = { passed: 0, failed: 0, pending: 0, tests: [] };
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on("pass", (t) => {
      results.passed++;
      results.tests.push({ title: t.fullTitle(), state: "passed", durationMs: t.duration });
    });
    runner.on("fail", (t, err: Error) => {
      results.failed++;
      results.tests.push({ title: t.fullTitle(), state: "failed", error: err?.stack ?? String(err) });
    });
    runner.on("pending", (t) => {
      results.pending++;
      results.tests.push({ title: t.fullTitle(), state: "pending" });
    });
  });
  return results;
}

/** @vscode/test-electron entry: rejects when a test failed. */
export async function run(): Promise<void> {
  const r = await runSuite();
  console.log(`extension-host suite: ${r.passed} passed, ${r.failed} failed, ${r.pending} skipped`);
  if (r.failed > 0) throw new Error(`${r.failed} extension-host test(s) failed`);
}

/** code-server entry: writes results atomically so the harness never reads half a file. */
export async function runToFile(resultsPath: string): Promise<void> {
  let r: SuiteResults;
  try {
    r = await runSuite();
  } catch (e) {
    r = { passed: 0, failed: 1, pending: 0, tests: [{ title: "run suite", state: "failed", error: String(e) }] };
  }
  fs.mkdirSync(path.dirname(resultsPath), { recursive: true });
  fs.writeFileSync(`${resultsPath}.tmp`, JSON.stringify(r, null, 2));
  fs.renameSync(`${resultsPath}.tmp`, resultsPath);
}

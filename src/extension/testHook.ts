// Lets an end-to-end harness run the extension-host test suite inside a VS Code it cannot
// script directly (code-server): when INTROSPECT_EXTHOST_SUITE names a bundled suite, load it
// and write its results to INTROSPECT_EXTHOST_RESULTS. Inert in normal use.
import * as fs from "fs";

export function runExthostSuiteIfAsked(): void {
  const suite = process.env.INTROSPECT_EXTHOST_SUITE;
  const results = process.env.INTROSPECT_EXTHOST_RESULTS;
  if (!suite || !results) return;
  // Deferred so activate() returns first and the suite sees an active extension.
  setTimeout(() => {
    try {
      // A path outside the extension, resolved at runtime on purpose (not bundled).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(suite) as { runToFile(resultsPath: string): Promise<void> };
      void mod.runToFile(results);
    } catch (e) {
      fs.writeFileSync(
        results,
        JSON.stringify({ passed: 0, failed: 1, tests: [{ title: "load suite", state: "failed", error: String(e) }] }),
      );
    }
  }, 0);
}

// Runs the extension-host suite under @vscode/test-electron (a downloaded desktop VS Code).
// Needs network access to update.code.visualstudio.com, or VSCODE_EXECUTABLE pointing at a VS Code.
import * as path from "path";
import { runTests } from "@vscode/test-electron";

const root = path.resolve(__dirname, "../..");

runTests({
  extensionDevelopmentPath: root,
  extensionTestsPath: path.join(root, "dist/test/exthost.js"),
  vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
  version: process.env.VSCODE_VERSION || "stable",
  launchArgs: [path.join(root, "test/e2e/workspace"), "--disable-extensions", "--disable-workspace-trust"],
}).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`extension-host tests under test-electron failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);

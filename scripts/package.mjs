// npm run package: production build, then introspect.vsix with @vscode/vsce.
//   --test-hooks   introspect-test.vsix instead, whose bundle keeps the test hooks (for the
//                  extension-host suite, test/exthost/runInCodeServer.ts); never ship that one.
// Dependencies are bundled by esbuild except onnxruntime-node (native): vsce lists the production
// packages and .vscodeignore (a whitelist) keeps only onnxruntime-node's runtime from them.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const testHooks = process.argv.includes("--test-hooks");
const vsix = testHooks ? "introspect-test.vsix" : "introspect.vsix";
// esbuild.mjs keeps the test hooks in a production build only when INTROSPECT_TEST_HOOKS=1.
const env = { ...process.env };
delete env.INTROSPECT_TEST_HOOKS;
if (testHooks) env.INTROSPECT_TEST_HOOKS = "1";
const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit", env });

// vsce runs the "vscode:prepublish" script first: a production build (esbuild.mjs --production).
// The README links to files in the repository (demo/README.md): keep those links relative.
run(process.execPath, [
  "node_modules/@vscode/vsce/vsce",
  "package",
  "--allow-missing-repository",
  "--no-rewrite-relative-links",
  "--out",
  vsix,
]);
for (const f of ["dist/extension.js", "dist/server.js"]) {
  if (!existsSync(f)) throw new Error(`${f} was not built`);
}
const mb = (statSync(vsix).size / 1024 / 1024).toFixed(1);
console.log(`${vsix}: ${mb} MB`);

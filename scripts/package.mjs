// npm run package: production build, then introspect.vsix with @vscode/vsce.
// Dependencies are bundled by esbuild except onnxruntime-node (native): vsce lists the production
// packages and .vscodeignore (a whitelist) keeps only onnxruntime-node's runtime from them.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const run = (cmd, args) => execFileSync(cmd, args, { stdio: "inherit" });

// vsce runs the "vscode:prepublish" script first: a production build (esbuild.mjs --production).
// The README links to files in the repository (demo/README.md): keep those links relative.
run(process.execPath, [
  "node_modules/@vscode/vsce/vsce",
  "package",
  "--allow-missing-repository",
  "--no-rewrite-relative-links",
  "--out",
  "introspect.vsix",
]);
for (const f of ["dist/extension.js", "dist/server.js"]) {
  if (!existsSync(f)) throw new Error(`${f} was not built`);
}
const mb = (statSync("introspect.vsix").size / 1024 / 1024).toFixed(1);
console.log(`introspect.vsix: ${mb} MB`);

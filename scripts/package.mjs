// npm run package: production build, then introspect.vsix with @vscode/vsce.
//   --test-hooks       introspect-test.vsix instead, whose bundle keeps the test hooks (for the
//                      extension-host suite, test/exthost/runInCodeServer.ts); never ship that one.
//   --target T         introspect-T.vsix, a platform-specific package (vsce --target) holding only
//                      T's onnxruntime binaries; T is one of scripts/platforms.mjs TARGETS.
//   --all-targets      one such package per target (the bundles are built once).
// Dependencies are bundled by esbuild except onnxruntime-node (native): vsce lists the production
// packages and .vscodeignore (a whitelist) keeps only onnxruntime-node's runtime from them.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ignoreFileFor, packageName, TARGETS } from "./platforms.mjs";

const args = process.argv.slice(2);
const testHooks = args.includes("--test-hooks");
const targetAt = args.indexOf("--target");
const targets = args.includes("--all-targets") ? Object.keys(TARGETS) : targetAt >= 0 ? [args[targetAt + 1]] : [];
for (const t of targets) if (!TARGETS[t]) throw new Error(`unknown target ${t}: one of ${Object.keys(TARGETS).join(", ")}`);
// esbuild.mjs keeps the test hooks in a production build only when INTROSPECT_TEST_HOOKS=1.
const env = { ...process.env };
delete env.INTROSPECT_TEST_HOOKS;
if (testHooks) env.INTROSPECT_TEST_HOOKS = "1";
const run = (cmd, argv, extraEnv = {}) => execFileSync(cmd, argv, { stdio: "inherit", env: { ...env, ...extraEnv } });
const vsce = (out, extra = [], extraEnv = {}) =>
  // The README links to files in the repository (demo/README.md): keep those links relative.
  run(
    process.execPath,
    ["node_modules/@vscode/vsce/vsce", "package", "--allow-missing-repository", "--no-rewrite-relative-links", "--out", out, ...extra],
    extraEnv,
  );
const report = (vsix) => console.log(`${vsix}: ${(statSync(vsix).size / 1024 / 1024).toFixed(1)} MB`);

if (!targets.length) {
  // vsce runs the "vscode:prepublish" script first: a production build (scripts/prepublish.mjs).
  const vsix = testHooks ? "introspect-test.vsix" : "introspect.vsix";
  vsce(vsix);
  for (const f of ["dist/extension.js", "dist/server.js"]) if (!existsSync(f)) throw new Error(`${f} was not built`);
  report(vsix);
} else {
  // One production build for all of them; vsce's prepublish step is told it is done.
  run(process.execPath, ["esbuild.mjs", "--production"]);
  const tmp = mkdtempSync(join(tmpdir(), "introspect-package-"));
  try {
    for (const target of targets) {
      const ignore = join(tmp, `${target}.vscodeignore`);
      writeFileSync(ignore, ignoreFileFor(target, readFileSync(".vscodeignore", "utf8")));
      vsce(packageName(target), ["--target", target, "--ignoreFile", ignore], { INTROSPECT_PREBUILT: "1" });
      report(packageName(target));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

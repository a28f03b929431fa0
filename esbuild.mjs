// One esbuild context per target. Types are checked separately (`npm run typecheck`).
//   node esbuild.mjs               build once (development: sourcemaps, no minify)
//   node esbuild.mjs --production  minified, no sourcemaps (what the .vsix ships)
//   node esbuild.mjs --watch       rebuild on change
//   --only extension,cli           build only these targets;  --outdir DIR  write under DIR instead of dist/
// Targets whose entry file does not exist yet are skipped, so the build works while parts are written.
//
// Test hooks (src/extension/testHook.ts: load a module named by INTROSPECT_EXTHOST_SUITE) are compiled
// out of --production builds: __INTROSPECT_TEST_HOOKS__ is defined false, the call becomes dead code
// and esbuild drops it with the module. INTROSPECT_TEST_HOOKS=1 keeps them in a production build, for
// the vsix the extension-host suite installs (node scripts/package.mjs --test-hooks).
import * as esbuild from "esbuild";
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";

const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");
const testHooks = !production || process.env.INTROSPECT_TEST_HOOKS === "1";
const argAfter = (flag) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const only = argAfter("--only")?.split(",");
const outdir = argAfter("--outdir");

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: "warning",
};

const nodeTarget = { ...common, platform: "node", format: "cjs", target: "node20" };

/** @type {(esbuild.BuildOptions & { name: string })[]} */
const targets = [
  // Extension host side; `vscode` is provided by VS Code at runtime.
  {
    ...nodeTarget,
    name: "extension",
    entryPoints: ["src/extension/extension.ts"],
    outfile: "dist/extension.js",
    external: ["vscode"],
    define: { __INTROSPECT_TEST_HOOKS__: String(testHooks) },
  },
  // Model host. onnxruntime-node loads a native addon by relative path, so it stays in node_modules
  // (shipped in the .vsix) instead of being bundled.
  { ...nodeTarget, name: "server", entryPoints: ["src/server/server.ts"], outfile: "dist/server.js", external: ["onnxruntime-node"] },
  {
    ...nodeTarget,
    name: "cli",
    entryPoints: ["src/cli/main.ts"],
    outfile: "dist/cli.js",
    external: ["onnxruntime-node"],
    banner: { js: "#!/usr/bin/env node" },
  },
  // Extension-host test suite: not shipped; mocha and vscode resolve at runtime from the repository.
  {
    ...nodeTarget,
    name: "exthost-tests",
    entryPoints: ["test/exthost/suite/index.ts"],
    outfile: "dist/test/exthost.js",
    external: ["vscode", "mocha"],
    minify: false,
    sourcemap: true,
  },
  ...webviewApps().map((app) => ({
    ...common,
    name: `webview:${app}`,
    entryPoints: [`webview/${app}/main.ts`],
    outfile: `dist/webview/${app}.js`,
    platform: "browser",
    format: "iife",
    target: "es2022",
  })),
];

function webviewApps() {
  if (!existsSync("webview")) return [];
  return readdirSync("webview", { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`webview/${d.name}/main.ts`))
    .map((d) => d.name);
}

const present = targets
  .filter((t) => !only || only.includes(t.name))
  .map((t) => (outdir ? { ...t, outfile: path.join(outdir, path.relative("dist", t.outfile)) } : t))
  .filter((t) => {
    const ok = t.entryPoints.every((e) => existsSync(e));
    if (!ok) console.log(`esbuild: skipping ${t.name} (${t.entryPoints.join(", ")} not found)`);
    return ok;
  });

const contexts = await Promise.all(present.map(({ name, ...options }) => esbuild.context({ ...options, plugins: [reportPlugin(name)] })));

function reportPlugin(name) {
  return {
    name: "report",
    setup(build) {
      build.onEnd((result) => {
        if (watch) console.log(`[${name}] ${result.errors.length ? `${result.errors.length} errors` : "built"}`);
      });
    },
  };
}

if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`esbuild: watching ${present.map((t) => t.name).join(", ")}`);
} else {
  let failed = false;
  for (const c of contexts) {
    try {
      await c.rebuild();
    } catch {
      failed = true; // esbuild already printed the errors
    }
    await c.dispose();
  }
  if (failed) process.exit(1);
  console.log(
    `esbuild: built ${present.map((t) => t.name).join(", ")}${production ? ` (production${testHooks ? ", with test hooks" : ""})` : ""}`,
  );
}

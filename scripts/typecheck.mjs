// npm run typecheck: the whole tree (tsconfig.json, what editors use), then each process against
// its own environment: the engine without DOM or vscode, webviews with DOM and without Node, the
// extension, the model host (with the CLI) without vscode. Exit status 1 if any fails.
import { spawnSync } from "node:child_process";

export const PROJECTS = [".", "src/engine", "webview", "src/extension", "src/server"];

let failed = 0;
for (const p of PROJECTS) {
  const r = spawnSync("npx", ["--no-install", "tsc", "--noEmit", "-p", p], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`typecheck: ${p} failed`);
  }
}
process.exit(failed ? 1 : 0);

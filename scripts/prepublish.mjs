// vsce's "vscode:prepublish": the production build, unless scripts/package.mjs built it already
// for several platform packages (INTROSPECT_PREBUILT=1).
import { execFileSync } from "node:child_process";

if (process.env.INTROSPECT_PREBUILT !== "1") execFileSync(process.execPath, ["esbuild.mjs", "--production"], { stdio: "inherit" });

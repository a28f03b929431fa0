// npm run test:exthost: the extension-host suite.
//   default            inside code-server's extension host (works offline here)
//   --electron         under @vscode/test-electron (downloads VS Code unless VSCODE_EXECUTABLE is set)
import { spawnSync } from "node:child_process";

const electron = process.argv.includes("--electron") || process.env.INTROSPECT_TEST_ELECTRON === "1";
const build = spawnSync(process.execPath, ["esbuild.mjs"], { stdio: "inherit" });
if (build.status !== 0) process.exit(1);
const script = electron ? "test/exthost/runElectron.ts" : "test/exthost/runInCodeServer.ts";
const r = spawnSync(process.execPath, ["--import", "tsx", script], { stdio: "inherit" });
process.exit(r.status ?? 1);

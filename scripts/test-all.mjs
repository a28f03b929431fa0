// npm test: every check in order, each one's output streamed, then one summary line
// "N passed, N failed" counting mocha tests and each static check (typecheck, lint, format).
// Later steps still run after a failure so one run shows everything; exit status 1 if any failed.
import { spawn } from "node:child_process";

const npx = (...args) => ["npx", "--no-install", ...args];
const steps = [
  { name: "typecheck", cmd: npx("tsc", "--noEmit", "-p", ".") },
  { name: "lint", cmd: npx("eslint", "src", "webview", "test") },
  { name: "format", cmd: npx("prettier", "--check", ".") },
  { name: "unit", cmd: npx("mocha"), mocha: true },
  { name: "package", cmd: ["node", "scripts/package.mjs"], gate: true },
  { name: "build (dev, for the extension-host suite)", cmd: ["node", "esbuild.mjs"], gate: true },
  { name: "code-server setup", cmd: ["bash", "scripts/setup-code-server.sh"], gate: true },
  { name: "exthost", cmd: ["node", "--import", "tsx", "test/exthost/runInCodeServer.ts"], mocha: true, needsGate: true },
  { name: "e2e", cmd: npx("mocha", "--config", "test/e2e/.mocharc.json"), mocha: true, needsGate: true },
];

function run(cmd) {
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FORCE_COLOR: "0" } });
    let out = "";
    const tee = (stream) => (chunk) => {
      out += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", tee(process.stdout));
    child.stderr.on("data", tee(process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

const count = (out, word) => [...out.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);

const t0 = Date.now();
const rows = [];
let gateFailed = false;
for (const step of steps) {
  if (step.needsGate && gateFailed) {
    rows.push({ name: step.name, passed: 0, failed: 1, note: "skipped: an earlier build step failed" });
    continue;
  }
  console.log(`\n=== ${step.name}: ${step.cmd.join(" ")}`);
  const s = Date.now();
  const { code, out } = await run(step.cmd);
  const secs = ((Date.now() - s) / 1000).toFixed(0);
  if (step.mocha) {
    const passed = count(out, "passing");
    let failed = count(out, "failing");
    // A crash before mocha's summary (or a non-zero exit with no failures counted) is one failure.
    if (code !== 0 && failed === 0) failed = 1;
    rows.push({ name: step.name, passed, failed, note: `${secs} s` });
  } else {
    rows.push({
      name: step.name,
      passed: code === 0 ? 1 : 0,
      failed: code === 0 ? 0 : 1,
      note: `${secs} s`,
      silent: step.gate && code === 0,
    });
    if (step.gate && code !== 0) gateFailed = true;
  }
}

console.log("\n=== summary");
for (const r of rows)
  if (!r.silent)
    console.log(`  ${r.name.padEnd(12)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed   ${r.note}`);
const passed = rows.filter((r) => !r.silent).reduce((n, r) => n + r.passed, 0);
const failed = rows.reduce((n, r) => n + r.failed, 0);
console.log(`\n${passed} passed, ${failed} failed (${((Date.now() - t0) / 60000).toFixed(1)} min)`);
process.exit(failed ? 1 : 0);

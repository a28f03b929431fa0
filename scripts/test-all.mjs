// npm test: every check in order, each one's output streamed, then one summary line
// "N passed, N failed, N skipped" counting mocha tests (skipped = mocha's pending) and each static
// check (typecheck, lint, format). Later steps still run after a failure so one run shows
// everything; exit status 1 if any failed.
//
//   npm test -- --loaded[=N]    the whole run beside N busy processes (default 2), as on a loaded
//                               machine; INTROSPECT_TEST_LOAD=N does the same
//
// As root with INTROSPECT_TEST_USER naming a user (.ci/run makes one), tests whose title says
// "as a user without root" run as that user instead of being skipped.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";

const NON_ROOT = "as a user without root";

function loadFromArgs() {
  let n = Number(process.env.INTROSPECT_TEST_LOAD || 0);
  for (const a of process.argv.slice(2)) {
    const m = /^--loaded(?:=(\d+))?$/.exec(a);
    if (m) n = m[1] === undefined ? 2 : Number(m[1]);
    else {
      console.error(`unknown argument ${a}: npm test takes --loaded[=N]`);
      process.exit(2);
    }
  }
  return n;
}

const npx = (...args) => ["npx", "--no-install", ...args];
const mochaBin = "node_modules/mocha/bin/mocha.js";
const testUser = process.getuid?.() === 0 ? process.env.INTROSPECT_TEST_USER || "" : "";

const steps = [
  { name: "typecheck", cmd: ["node", "scripts/typecheck.mjs"] },
  { name: "lint", cmd: npx("eslint", "src", "webview", "test") },
  { name: "format", cmd: npx("prettier", "--check", ".") },
  { name: "unit", cmd: testUser ? npx("mocha", "--grep", NON_ROOT, "--invert") : npx("mocha"), mocha: true },
  ...(testUser
    ? [
        {
          name: `unit as ${testUser}`,
          cmd: ["runuser", "-u", testUser, "--", process.execPath, mochaBin, "--grep", NON_ROOT],
          mocha: true,
          user: testUser,
        },
      ]
    : []),
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

/** Busy processes (one spinning core each) for the length of the run; ended by pid on the way out. */
function startLoad(n) {
  const spinners = Array.from({ length: n }, () => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  const stop = () => {
    for (const s of spinners) if (s.exitCode === null && s.signalCode === null) s.kill("SIGKILL");
  };
  process.on("exit", stop);
  for (const [sig, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ])
    process.on(sig, () => {
      stop();
      process.exit(code);
    });
  console.log(`loaded run: ${n} busy processes (pids ${spinners.map((s) => s.pid).join(", ")}) until the end`);
  return stop;
}

const count = (out, word) => [...out.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, "gm"))].reduce((n, m) => n + Number(m[1]), 0);

const load = loadFromArgs();
const stopLoad = load > 0 ? startLoad(load) : () => undefined;
const t0 = Date.now();
const rows = [];
let gateFailed = false;
for (const step of steps) {
  if (step.needsGate && gateFailed) {
    rows.push({ name: step.name, passed: 0, failed: 1, skipped: 0, note: "not run: an earlier build step failed" });
    continue;
  }
  if (step.user && spawnSync("runuser", ["-u", step.user, "--", "test", "-r", "package.json"]).status !== 0) {
    const why = `${step.user} cannot read ${fs.realpathSync(".")}: give it read access, or unset INTROSPECT_TEST_USER`;
    console.log(`\n=== ${step.name}: ${why}`);
    rows.push({ name: step.name, passed: 0, failed: 1, skipped: 0, note: why });
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
    rows.push({ name: step.name, passed, failed, skipped: count(out, "pending"), note: `${secs} s` });
  } else {
    rows.push({
      name: step.name,
      passed: code === 0 ? 1 : 0,
      failed: code === 0 ? 0 : 1,
      skipped: 0,
      note: `${secs} s`,
      silent: step.gate && code === 0,
    });
    if (step.gate && code !== 0) gateFailed = true;
  }
}
stopLoad();

console.log("\n=== summary");
const shown = rows.filter((r) => !r.silent);
const width = Math.max(12, ...shown.map((r) => r.name.length));
for (const r of shown)
  console.log(
    `  ${r.name.padEnd(width)} ${String(r.passed).padStart(4)} passed ${String(r.failed).padStart(3)} failed ${String(r.skipped).padStart(3)} skipped   ${r.note}`,
  );
const sum = (k) => rows.filter((r) => !r.silent || k === "failed").reduce((n, r) => n + r[k], 0);
const failed = sum("failed");
const loaded = load > 0 ? `, ${load} busy processes beside it` : "";
console.log(
  `\n${sum("passed")} passed, ${failed} failed, ${sum("skipped")} skipped (${((Date.now() - t0) / 60000).toFixed(1)} min${loaded})`,
);
process.exit(failed ? 1 : 0);

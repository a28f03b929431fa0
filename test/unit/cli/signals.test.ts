// The CLI as a process: signals sent to its own pid, a killed launcher, and its files. The CLI
// starts itself again as a worker under the malloc settings (src/cli/main.ts); each test checks
// the exit code and that no worker is left behind.
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { outputTempName, removeStaleTemps, writeFileAtomic } from "../../../src/engine/model/tempFiles";

const ROOT = path.join(__dirname, "..", "..", "..");
const TINY = path.join(ROOT, "test", "fixtures", "local", "tiny-llama");
const MAIN = path.join(ROOT, "src", "cli", "main.ts");
const LONG = ["generate", "--model", TINY, "--text", "t1", "--max-tokens", "100000"];

interface Cli {
  p: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startCli(args: string[], env: NodeJS.ProcessEnv = {}, detached = false): Cli {
  const p = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
  let out = "";
  let err = "";
  p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { p, out: () => out, err: () => err, exit };
}

async function waitFor<T>(what: string, f: () => T | undefined | false, timeoutMs = 60000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Child pids of `pid` (the worker of a launcher). */
function childrenOf(pid: number): number[] {
  const r = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
}

/** Whether `pid` still runs (a zombie nobody reaps has finished: it counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("introspect CLI: signals to its own pid", function () {
  this.timeout(120000);
  const started: Cli[] = [];
  afterEach(() => {
    for (const c of started.splice(0)) {
      for (const pid of [...childrenOf(c.p.pid!), c.p.pid!]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  });
  const start = (args: string[], env: NodeJS.ProcessEnv = {}, detached = false) => {
    const c = startCli(args, env, detached);
    started.push(c);
    return c;
  };

  /** Starts a long generation and waits until it prints; returns the launcher and its worker. */
  async function generating(env: NodeJS.ProcessEnv = {}, detached = false): Promise<{ c: Cli; worker?: number }> {
    const c = start(LONG, env, detached);
    await waitFor("the first generated tokens", () => c.out().length > 0);
    const kids = childrenOf(c.p.pid!);
    return { c, worker: kids[0] };
  }

  it("SIGINT to the CLI's pid (as timeout(1) sends it) cancels, exits 130 and leaves no worker", async () => {
    const { c, worker } = await generating();
    assert.ok(worker && running(worker), "the CLI runs as launcher + worker");
    process.kill(c.p.pid!, "SIGINT");
    const { code } = await c.exit;
    assert.equal(code, 130, c.err());
    assert.match(c.err(), /^introspect: cancelled\n$/);
    await waitFor("the worker to exit", () => !running(worker), 3000);
  });

  it("SIGTERM to the CLI's pid exits 143 and leaves no worker", async () => {
    const { c, worker } = await generating();
    assert.ok(worker);
    process.kill(c.p.pid!, "SIGTERM");
    const { code } = await c.exit;
    assert.equal(code, 143, c.err());
    assert.doesNotMatch(c.err(), /internal error/);
    await waitFor("the worker to exit", () => !running(worker), 3000);
  });

  it("SIGHUP to the CLI's pid exits 129", async () => {
    const { c } = await generating();
    process.kill(c.p.pid!, "SIGHUP");
    assert.equal((await c.exit).code, 129, c.err());
  });

  it("Ctrl-C to the process group counts once: the run cancels between passes (130, 'cancelled')", async () => {
    const { c } = await generating({}, true);
    process.kill(-c.p.pid!, "SIGINT");
    const { code } = await c.exit;
    assert.equal(code, 130);
    // A double count would exit at once without the cancellation sentence.
    assert.match(c.err(), /introspect: cancelled/);
  });

  it("without the relaunch (INTROSPECT_NO_MALLOC_TUNING=1) the process handles SIGINT and SIGTERM itself", async () => {
    const env = { INTROSPECT_NO_MALLOC_TUNING: "1", GLIBC_TUNABLES: "" };
    const a = await generating(env);
    assert.deepEqual(childrenOf(a.c.p.pid!), [], "no worker");
    process.kill(a.c.p.pid!, "SIGTERM");
    assert.equal((await a.c.exit).code, 143);
    const b = await generating(env);
    process.kill(b.c.p.pid!, "SIGINT");
    assert.equal((await b.c.exit).code, 130);
  });

  it("kill -9 of the CLI takes its worker with it (mid-generation)", async () => {
    const { c, worker } = await generating();
    assert.ok(worker && running(worker));
    process.kill(c.p.pid!, "SIGKILL");
    await c.exit;
    const t0 = Date.now();
    await waitFor("the orphaned worker to exit", () => !running(worker), 20000); // a worker still starting (tsx) on a loaded machine needs its first poll
    console.log(`      worker gone ${Date.now() - t0} ms after its launcher was killed`);
  });

  it("kill -9 of the CLI before its worker finished: --out is never written", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-kill-"));
    try {
      const out = path.join(dir, "probe.safetensors");
      const c = start(["probe", "--model", TINY, "--text", "t1 t2 t3", "--out", out]);
      const worker = await waitFor("the worker", () => childrenOf(c.p.pid!)[0], 20000);
      process.kill(c.p.pid!, "SIGKILL");
      await waitFor("the orphaned worker to exit", () => !running(worker), 20000); // a worker still starting (tsx) on a loaded machine needs its first poll
      assert.deepEqual(fs.readdirSync(dir), [], "no output and no temp file");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("introspect CLI: output files", function () {
  this.timeout(120000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-out-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes --out through a temp file and rename, and removes temp files of killed runs on the next start", () => {
    const out = path.join(dir, "probe.safetensors");
    const stale = `${out}.introspect-out.4194999.tmp`; // a pid no process has (above the kernel's pid_max)
    const alsoStale = path.join(dir, "other.safetensors.introspect-out.4194998.tmp");
    const notOurs = path.join(dir, "notes.tmp");
    for (const f of [stale, alsoStale, notOurs]) fs.writeFileSync(f, "x");
    const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, "probe", "--model", TINY, "--text", "t1 t2", "--out", out], {
      cwd: ROOT,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["notes.tmp", "probe.safetensors"]);
  });

  it("a failed write leaves the earlier file as it was and no temp file", () => {
    const out = path.join(dir, "x.safetensors");
    fs.writeFileSync(out, "earlier result");
    const temp = outputTempName(out);
    const boom = {
      get byteLength(): number {
        throw new Error("disk full");
      },
    } as unknown as Uint8Array;
    assert.throws(() => writeFileAtomic(out, [new Uint8Array(8), boom], { temp }), /disk full/);
    assert.equal(fs.readFileSync(out, "utf8"), "earlier result");
    assert.deepEqual(fs.readdirSync(dir), ["x.safetensors"]);
    writeFileAtomic(out, [Buffer.from("new")], { temp });
    assert.equal(fs.readFileSync(out, "utf8"), "new");
  });

  it("keeps the temp files of a running writer", () => {
    const mine = `${path.join(dir, "a.safetensors")}.introspect-out.${process.pid}.tmp`;
    const parents = `${path.join(dir, "b.safetensors")}.introspect-out.${process.ppid}.tmp`;
    for (const f of [mine, parents]) fs.writeFileSync(f, "x");
    assert.deepEqual(removeStaleTemps(dir, true), []);
    assert.equal(fs.readdirSync(dir).length, 2);
  });
});

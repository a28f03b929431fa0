// onnxruntime's telemetry stays off in every process Introspect starts: the CLI (launcher and
// worker), the model host and the bench. Each runs with HOME pointed at an empty folder and without
// ORT_DISABLE_TELEMETRY in the environment it is given, and must leave no onnxruntime telemetry
// files there. A plain onnxruntime process in the same setup shows that the check can see them.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../../..");
const TINY = path.join(ROOT, "test/fixtures/local/tiny-llama");
const TINY_ONNX = path.join(TINY, "onnx/model.onnx");
const TELEMETRY_DIR = path.join(".cache", "Microsoft", "DeveloperTools", ".onnxruntime");

/** The environment of a process started by a user: a fresh HOME, no telemetry setting, no cache dir override. */
function userEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.ORT_DISABLE_TELEMETRY;
  delete env.XDG_CACHE_HOME;
  delete env.INTROSPECT_CACHE_DIR;
  return env;
}

function telemetryFiles(home: string): string[] {
  const dir = path.join(home, TELEMETRY_DIR);
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** Frames a JSON-RPC message as the language server protocol does. */
function frame(msg: object): string {
  const body = JSON.stringify({ jsonrpc: "2.0", ...msg });
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe("onnxruntime telemetry is off", function () {
  this.timeout(120000);
  const homes: string[] = [];
  const home = () => {
    const h = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-home-"));
    homes.push(h);
    return h;
  };
  after(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

  it("a plain onnxruntime process writes its telemetry database (so the checks below can see one)", function () {
    const h = home();
    const script = `require("onnxruntime-node").InferenceSession.create(${JSON.stringify(TINY_ONNX)}).then((s) => s.release())`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, env: userEnv(h), encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    if (!telemetryFiles(h).includes("onnxruntime.db")) {
      console.log("      (this onnxruntime writes no telemetry database: nothing to switch off)");
      this.skip();
    }
  });

  it("the CLI (launcher and worker) writes none", () => {
    const h = home();
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "src/cli/main.ts"), "probe", "--model", TINY, "--text", "t1 t2"],
      {
        cwd: ROOT,
        env: userEnv(h),
        encoding: "utf8",
      },
    );
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(telemetryFiles(h), []);
  });

  it("the model host writes none when it loads a model", async () => {
    const h = home();
    const host = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/server/server.ts"), "--stdio"], {
      cwd: ROOT,
      env: userEnv(h),
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      let got = "";
      const answered = new Promise<string>((resolve, reject) => {
        host.stdout!.on("data", (d: Buffer) => {
          got += d.toString();
          const m = /"id":2,"result":(\{.*?"kind":"(\w+)")/.exec(got);
          if (m) resolve(m[2]);
        });
        host.on("exit", (code) => reject(new Error(`the host exited (${code}) before answering: ${got}`)));
      });
      host.stdin!.write(frame({ id: 1, method: "initialize", params: { processId: process.pid, rootUri: null, capabilities: {} } }));
      host.stdin!.write(frame({ method: "initialized", params: {} }));
      host.stdin!.write(frame({ id: 2, method: "introspect/configure", params: { modelPath: TINY, variant: "" } }));
      assert.strictEqual(await answered, "ready");
    } finally {
      host.kill("SIGKILL");
    }
    assert.deepStrictEqual(telemetryFiles(h), []);
  });

  it("the bench writes none", () => {
    const h = home();
    const r = spawnSync(process.execPath, ["-r", "tsx/cjs", path.join(ROOT, "bench/lib/open_child.ts"), "ort-path", TINY_ONNX], {
      cwd: ROOT,
      env: userEnv(h),
      encoding: "utf8",
    });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.deepStrictEqual(telemetryFiles(h), []);
  });
});

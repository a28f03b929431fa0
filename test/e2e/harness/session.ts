// One code-server + Chromium session over a fresh copy of the test workspace.
// Tests get it from the root hooks (test/e2e/hooks.ts) through `session()`.
import * as fs from "fs";
import * as path from "path";
import type { Browser } from "playwright-core";
import { E2E_DIR, REPO, startCodeServer, type CodeServer } from "./codeServer";
import { launchBrowser, Workbench } from "./workbench";

export interface Session {
  server: CodeServer;
  browser: Browser;
  wb: Workbench;
  /** The workspace folder on disk (a fresh copy of test/e2e/workspace). */
  folder: string;
  /**
   * The folder the extension records its probes in (INTROSPECT_PROBE_RECORD: last-result.json,
   * last-failure.json, timings.jsonl). One per session: every spec's probes land here.
   */
  record: string;
  close(): Promise<void>;
}

export const DEMO_MODEL = path.join(REPO, "models/demo-llama/onnx/model.onnx");
export const TINY_MODEL = path.join(REPO, "test/e2e/fixtures/tiny-model");

/** Until the demo model is bundled, the workspace points introspect.model at a tiny fixture. */
export function usesBundledModel(): boolean {
  return fs.existsSync(DEMO_MODEL);
}

export interface SessionOptions {
  /** The extension to install (default introspect.vsix). */
  vsix?: string;
  /** Workspace trust on: the folder opens untrusted (restricted mode). */
  workspaceTrust?: boolean;
  /** Written to the workspace's .vscode/settings.json (merged over the fixture's). */
  workspaceSettings?: Record<string, unknown>;
  /** Files to add to the workspace copy (path relative to it -> copied from this absolute path). */
  copyIntoWorkspace?: Record<string, string>;
  /** Introspect's first-run welcome left on (walkthrough and demo README open on start). */
  firstRun?: boolean;
}

export async function startSession(name: string, env: Record<string, string> = {}, opts: SessionOptions = {}): Promise<Session> {
  // One folder per test process: two people (or CI and a developer) may run e2e tests at once.
  const runs = path.join(E2E_DIR, "runs");
  removeStaleRuns(runs);
  const runDir = path.join(runs, `${name}-${process.pid}`);
  const folder = path.join(runDir, "workspace");
  fs.rmSync(runDir, { recursive: true, force: true });
  fs.cpSync(path.join(REPO, "test/e2e/workspace"), folder, { recursive: true });
  const settings = { ...(usesBundledModel() ? {} : { "introspect.model": TINY_MODEL }), ...opts.workspaceSettings };
  if (Object.keys(settings).length) {
    fs.mkdirSync(path.join(folder, ".vscode"), { recursive: true });
    fs.writeFileSync(path.join(folder, ".vscode/settings.json"), JSON.stringify(settings, null, 2));
  }
  for (const [rel, from] of Object.entries(opts.copyIntoWorkspace ?? {})) fs.cpSync(from, path.join(folder, rel), { recursive: true });
  const record = path.join(runDir, "probe-record");
  const server = await startCodeServer({
    workspace: folder,
    runDir,
    env: { INTROSPECT_PROBE_RECORD: record, ...env },
    vsix: opts.vsix,
    workspaceTrust: opts.workspaceTrust,
    firstRun: opts.firstRun,
  });
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const wb = await Workbench.open(browser, server.url, folder);
    const b = browser;
    return {
      server,
      browser: b,
      wb,
      folder,
      record,
      async close() {
        await b.close().catch(() => undefined);
        await server.stop();
      },
    };
  } catch (e) {
    await browser?.close().catch(() => undefined);
    await server.stop();
    throw e;
  }
}

/** Deletes run folders of test processes that no longer exist (their logs are kept until then). */
function removeStaleRuns(runs: string): void {
  if (!fs.existsSync(runs)) return;
  for (const entry of fs.readdirSync(runs)) {
    const pid = Number(/-(\d+)$/.exec(entry)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      fs.rmSync(path.join(runs, entry), { recursive: true, force: true });
    }
  }
}

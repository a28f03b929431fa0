// Test helpers: the real model host over stdio, and the CLI run in-process.
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { main } from "../../../src/cli/main";
import type { Io } from "../../../src/cli/common";

const ROOT = path.join(__dirname, "../../..");

export interface StartedHost {
  host: ChildProcess;
  conn: ProtocolConnection;
  stop(): void;
}

/** Starts src/server/server.ts over stdio, answers the client requests it makes, initialises it. */
export async function startHost(onNotification: Record<string, (p: unknown) => void> = {}): Promise<StartedHost> {
  const host = spawn(process.execPath, ["-r", "tsx/cjs", path.join(ROOT, "src/server/server.ts"), "--stdio"], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const conn = createProtocolConnection(new StreamMessageReader(host.stdout!), new StreamMessageWriter(host.stdin!));
  for (const n of ["window/logMessage", "introspect/status", "$/progress", "textDocument/publishDiagnostics", "introspect/steerStep"])
    conn.onNotification(n, onNotification[n] ?? (() => undefined));
  for (const r of ["window/workDoneProgress/create", "workspace/codeLens/refresh", "workspace/inlayHint/refresh"])
    conn.onRequest(r, () => null);
  conn.onRequest("workspace/configuration", () => [{}]);
  conn.listen();
  await conn.sendRequest("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
  await conn.sendNotification("initialized", {});
  return {
    host,
    conn,
    stop() {
      conn.dispose();
      host.kill();
    },
  };
}

/** Runs one `introspect` command line in this process; returns its exit code and output. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => "", cancel: { isCancellationRequested: false } };
  return { code: await main(args, io), out, err };
}

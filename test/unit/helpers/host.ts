// Test helpers: the real model host over stdio (or, as the extension starts it, over IPC with V8
// serialisation), and the CLI run in-process.
import { fork, spawn, type ChildProcess } from "child_process";
import * as path from "path";
import {
  createProtocolConnection,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { main } from "../../../src/cli/main";
import { BINARY_WIRE_ARG } from "../../../src/protocol/wire";
import type { Io } from "../../../src/cli/common";

const ROOT = path.join(__dirname, "../../..");

export interface StartedHost {
  host: ChildProcess;
  conn: ProtocolConnection;
  stop(): void;
}

/**
 * Starts src/server/server.ts, answers the client requests it makes, initialises it. Channel
 * "stdio": JSON-RPC text on its stdin/stdout; "ipc": Node's IPC channel with V8 serialisation,
 * as src/extension/hostClient.ts starts it; "ipc-text": Node's IPC channel with JSON
 * serialisation, tensors as base64 (the extension's channel before binary tensors).
 */
export async function startHost(
  onNotification: Record<string, (p: unknown) => void> = {},
  channel: "stdio" | "ipc" | "ipc-text" = "stdio",
): Promise<StartedHost> {
  const server = path.join(ROOT, "src/server/server.ts");
  let host: ChildProcess;
  let conn: ProtocolConnection;
  if (channel !== "stdio") {
    const binary = channel === "ipc";
    host = fork(server, ["--node-ipc", ...(binary ? [BINARY_WIRE_ARG] : [])], {
      cwd: ROOT,
      execArgv: ["-r", "tsx/cjs"],
      serialization: binary ? "advanced" : "json",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    conn = createProtocolConnection(new IPCMessageReader(host), new IPCMessageWriter(host));
  } else {
    host = spawn(process.execPath, ["-r", "tsx/cjs", server, "--stdio"], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
    conn = createProtocolConnection(new StreamMessageReader(host.stdout!), new StreamMessageWriter(host.stdin!));
  }
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

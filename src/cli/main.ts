// `introspect`: the engine on the command line. Bundled to dist/cli.js (package.json "bin").

// First: ties a relaunched worker to its launcher before the engine loads (workerGuard.ts).
import { WORKER_ENV, isWorker, onLauncherInterrupt } from "./workerGuard";
import { spawn } from "child_process";
import { mallocTuned, withMallocTuning } from "../launch/mallocTuning";
import { disableOrtTelemetry, withoutOrtTelemetry } from "../launch/ortTelemetry";
import { IntrospectError } from "../engine";
import { type Command, EXIT, type Io, UsageError, parse } from "./common";
import { dictionaryCommand } from "./dictionary";
import { diffCommand } from "./diff";
import { faithfulnessCommand } from "./faithfulness";
import { generateCommand } from "./generate";
import { infoCommand } from "./info";
import { patchCommand } from "./patch";
import { probeCommand } from "./probe";
import { shiftCommand } from "./shift";
import { sparsityCommand } from "./sparsity";
import { tokenizeCommand } from "./tokenize";

// No onnxruntime telemetry in this process or the worker it starts (src/launch/ortTelemetry.ts).
disableOrtTelemetry();

export const COMMANDS: Command[] = [
  infoCommand,
  probeCommand,
  generateCommand,
  patchCommand,
  tokenizeCommand,
  faithfulnessCommand,
  diffCommand,
  shiftCommand,
  sparsityCommand,
  dictionaryCommand,
];

export const MAIN_HELP = `introspect: look inside a local ONNX language model from the command line

usage: introspect <command> [options]      introspect <command> --help

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(14)}${c.summary}`).join("\n")}

exit codes:
  0    success
  1    usage error: unknown command or option, missing or malformed value
  2    model or input error: a one-line message says what was wrong and what to do
  3    internal error (a bug: run again with --debug for the stack trace)
  4    faithfulness: at least one row is outside its tolerance
  130  cancelled (Ctrl-C, SIGINT)
  143  terminated (SIGTERM)

Errors print one line to stderr starting with "introspect: "; --debug adds the stack trace.`;

/** Runs one command line (without "node" and the script) and returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const debug = argv.includes("--debug");
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(MAIN_HELP + "\n");
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version") {
    io.out(`introspect 0.1.0 (glibc malloc settings ${mallocTuned() ? "on" : "off"})\n`);
    return EXIT.ok;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command "${name}"; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
    const values = parse(cmd, rest);
    if (values.help) {
      io.out(cmd.help + "\n");
      return EXIT.ok;
    }
    return await cmd.run(values, io);
  } catch (e) {
    return report(e, io, debug);
  }
}

function report(e: unknown, io: Io, debug: boolean): number {
  const stack = debug && e instanceof Error && e.stack ? `\n${e.stack}` : "";
  if (e instanceof UsageError) {
    io.err(`introspect: ${e.message}\nRun "introspect ${e.command ? `${e.command} ` : ""}--help" for usage.${stack}\n`);
    return EXIT.usage;
  }
  if (e instanceof IntrospectError) {
    if (e.code === "cancelled") {
      io.err(`introspect: cancelled${stack}\n`);
      return EXIT.cancelled;
    }
    const code = e.code === "internal" ? EXIT.internal : EXIT.input;
    io.err(`introspect: ${oneLine(e.message)}${stack}\n`);
    return code;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === "string" && typeof err.path === "string") {
    // File system errors: the file named is the user's input.
    io.err(`introspect: ${oneLine(err.message)}${stack}\n`);
    return EXIT.input;
  }
  io.err(`introspect: internal error: ${oneLine(String(err?.message ?? e))}${stack || " (run with --debug for the stack trace)"}\n`);
  return EXIT.internal;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/** After passing SIGTERM/SIGHUP on, how long the launcher waits before it kills the worker outright. */
const KILL_GRACE_MS = 5000;

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 129,
  SIGINT: EXIT.cancelled,
  SIGKILL: 137,
  SIGTERM: EXIT.terminated,
};

/**
 * Real stdio and signals. SIGINT (Ctrl-C, or `kill -INT` of the CLI's pid) cancels between forward
 * passes, a second one exits at once (130); SIGTERM exits 143 and SIGHUP 129 at once. Temp files
 * are removed by their exit hook (src/engine/model/tempFiles.ts), so an interrupted write leaves
 * nothing. In a worker, Ctrl-C comes from the launcher (workerGuard.ts), which also makes the
 * worker exit when its launcher goes away, however it died.
 */
function processIo(): Io {
  const cancel = { isCancellationRequested: false };
  const interrupt = () => {
    if (cancel.isCancellationRequested) process.exit(EXIT.cancelled);
    cancel.isCancellationRequested = true;
  };
  if (isWorker()) onLauncherInterrupt(interrupt);
  else process.on("SIGINT", interrupt);
  process.on("SIGTERM", () => process.exit(EXIT.terminated));
  process.on("SIGHUP", () => process.exit(SIGNAL_EXIT.SIGHUP!));
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    stdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    cancel,
  };
}

/**
 * glibc reads its malloc settings only when a process starts (src/launch/mallocTuning.ts), so
 * the CLI runs itself again with them, as the model host is run, and this process only relays:
 * SIGINT goes to the worker as an IPC message, SIGTERM and SIGHUP as themselves (then SIGKILL after
 * KILL_GRACE_MS); the exit code is the worker's, or 128 + the signal this process was sent.
 */
function launchWorker(): void {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: withoutOrtTelemetry(withMallocTuning({ ...process.env, [WORKER_ENV]: String(process.pid) })),
    stdio: ["inherit", "inherit", "inherit", "ipc"],
  });
  let sent: NodeJS.Signals | undefined;
  process.on("SIGINT", () => {
    sent ??= "SIGINT";
    if (child.connected) child.send({ signal: "SIGINT" }, () => undefined);
    else child.kill("SIGINT");
  });
  for (const sig of ["SIGTERM", "SIGHUP"] as const)
    process.on(sig, () => {
      sent = sig;
      child.kill(sig);
      setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS).unref();
    });
  child.on("error", (e) => {
    process.stderr.write(`introspect: internal error: cannot start: ${e.message}\n`);
    process.exit(EXIT.internal);
  });
  child.on("exit", (code, signal) => {
    if (code !== null) process.exit(code);
    process.exit(SIGNAL_EXIT[sent ?? signal!] ?? EXIT.internal);
  });
}

if (require.main === module && !mallocTuned() && process.env.INTROSPECT_NO_MALLOC_TUNING !== "1") {
  launchWorker();
} else if (require.main === module) {
  main(process.argv.slice(2), processIo()).then(
    (code) => {
      // Let stdout drain (large --json output into a pipe) before exiting.
      process.stdout.write("", () => process.exit(code));
    },
    (e) => {
      process.stderr.write(`introspect: internal error: ${String(e)}\n`);
      process.exit(EXIT.internal);
    },
  );
}

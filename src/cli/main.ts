// `introspect`: the engine on the command line. Bundled to dist/cli.js (package.json "bin").

import { spawn } from "child_process";
import { mallocTuned, withMallocTuning } from "../engine/model/mallocTuning";
import { IntrospectError } from "../engine/types";
import { type Command, EXIT, type Io, UsageError, parse } from "./common";
import { faithfulnessCommand } from "./faithfulness";
import { generateCommand } from "./generate";
import { infoCommand } from "./info";
import { patchCommand } from "./patch";
import { probeCommand } from "./probe";
import { tokenizeCommand } from "./tokenize";

export const COMMANDS: Command[] = [infoCommand, probeCommand, generateCommand, patchCommand, tokenizeCommand, faithfulnessCommand];

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
  130  cancelled (Ctrl-C)

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

/** The binary: real stdio, Ctrl-C cancels between forward passes (twice: exits at once). */
function processIo(): Io {
  const cancel = { isCancellationRequested: false };
  process.on("SIGINT", () => {
    if (cancel.isCancellationRequested) process.exit(EXIT.cancelled);
    cancel.isCancellationRequested = true;
  });
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

if (require.main === module && !mallocTuned() && process.env.INTROSPECT_NO_MALLOC_TUNING !== "1") {
  // glibc reads its malloc settings only when a process starts (src/engine/model/mallocTuning.ts):
  // run again with them, as the model host is. A terminal's Ctrl-C reaches the child too (same
  // process group), which cancels and exits 130; this process passes the exit code on, and hands
  // a kill (SIGTERM, SIGHUP) meant for it to the child.
  process.on("SIGINT", () => undefined);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env: withMallocTuning(), stdio: "inherit" });
  for (const sig of ["SIGTERM", "SIGHUP"] as const) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    process.stderr.write(`introspect: internal error: cannot start: ${e.message}\n`);
    process.exit(EXIT.internal);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? EXIT.cancelled : EXIT.internal)));
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

// Shared pieces of the `introspect` subcommands: argument parsing, exit codes, text input, output.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { CancelToken } from "../engine";
import { describeNonFile } from "../engine";
import { removeStaleTemps } from "../engine";
import { IntrospectError } from "../engine";

/** Exit codes a script can rely on (documented in `introspect --help` and README). */
export const EXIT = {
  ok: 0,
  usage: 1,
  input: 2,
  internal: 3,
  checkFailed: 4,
  cancelled: 130,
  terminated: 143,
} as const;

/** A mistake in the command line itself: exit 1 with the message and a pointer to --help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** Where a command writes; tests capture it, the binary uses process.stdout / stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Reads standard input completely (for `--text -`). */
  stdin(): Promise<string>;
  cancel: CancelToken;
}

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: Options;
  run(values: Record<string, string | boolean | string[] | undefined>, io: Io): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  debug: { type: "boolean" },
};

/** A command's option table: each name in `values` takes a value (`--name VALUE`), each in `flags` is a switch. */
export function optionTable(values: string[], flags: string[] = []): Options {
  const out: Options = {};
  for (const name of values) out[name] = { type: "string" };
  for (const name of flags) out[name] = { type: "boolean" };
  return out;
}

/**
 * `--alpha -2` as `--alpha=-2`: node:util's parser takes any argument starting with "-" for an
 * option and calls the value ambiguous, but a negative number after an option that takes a value
 * can only be that value.
 */
export function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    const name = a.startsWith("--") && !a.includes("=") ? a.slice(2) : undefined;
    if (name && options[name]?.type === "string" && next !== undefined && /^-(\d|\.\d)/.test(next) && Number.isFinite(Number(next))) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export function parse(cmd: Command, argv: string[]): Record<string, string | boolean | string[] | undefined> {
  const options = { ...COMMON_OPTIONS, ...cmd.options };
  try {
    const { values, positionals } = parseArgs({
      args: joinNegativeValues(argv, options),
      options,
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0 && !values.help) {
      throw new UsageError(`unexpected argument "${positionals[0]}" (options take the form --name VALUE)`, cmd.name);
    }
    return values as Record<string, string | boolean | string[] | undefined>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    // node:util parseArgs errors name the option; keep their first line.
    throw new UsageError((e as Error).message.split("\n")[0].replace(/\. To specify a positional.*$/, ""), cmd.name);
  }
}

export function required(values: Record<string, unknown>, name: string, cmd: string): string {
  const v = values[name];
  if (typeof v !== "string" || v.length === 0) throw new UsageError(`--${name} is required`, cmd);
  return v;
}

/** A whole-number option in [min, max]; `why` ends the sentence for values above max. */
export function intOption(
  values: Record<string, unknown>,
  name: string,
  cmd: string,
  dflt: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
  why = "",
): number {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number >= ${min} (got "${String(v)}")`, cmd);
  }
  if (n > max) throw new UsageError(`--${name} ${v} is too large: at most ${max}${why ? ` (${why})` : ""}`, cmd);
  return n;
}

/** A finite number option, optionally with |value| <= maxAbs. */
export function numOption(values: Record<string, unknown>, name: string, cmd: string, dflt: number, maxAbs = Infinity, why = ""): number {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number (got "${String(v)}")`, cmd);
  if (Math.abs(n) > maxAbs)
    throw new UsageError(`--${name} ${v} is out of range: use a value from -${maxAbs} to ${maxAbs}${why ? ` (${why})` : ""}`, cmd);
  return n;
}

/** `--threads N`: 0 (onnxruntime's choice) up to four per logical CPU; more only slows onnxruntime down. */
export function threadsOption(values: Record<string, unknown>, cmd: string): number {
  const cpus = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  return intOption(values, "threads", cmd, 0, 0, 4 * cpus, `this machine has ${cpus} logical CPU${cpus === 1 ? "" : "s"}`);
}

/** `--text TEXT`, `--text -` (standard input) or `--text-file FILE`. */
export async function readTextOption(values: Record<string, unknown>, io: Io, cmd: string, name = "text"): Promise<string> {
  const file = values[`${name}-file`];
  const text = values[name];
  if (typeof file === "string") {
    if (typeof text === "string") throw new UsageError(`give --${name} or --${name}-file, not both`, cmd);
    try {
      const st = fs.statSync(file);
      if (st.isDirectory() || st.isCharacterDevice() || st.isBlockDevice() || st.isSocket()) {
        throw new IntrospectError("bad-input", `--${name}-file ${file} is ${describeNonFile(st)}; name a text file.`);
      }
      // A pipe is read without blocking the event loop, so Ctrl-C still ends a wait for its writer.
      return st.isFIFO() ? await fs.promises.readFile(file, "utf8") : fs.readFileSync(file, "utf8");
    } catch (e) {
      if (e instanceof IntrospectError) throw e;
      throw new IntrospectError("bad-input", `${file} could not be read (${(e as Error).message}).`);
    }
  }
  if (typeof text !== "string")
    throw new UsageError(`--${name} is required (or --${name}-file FILE, or --${name} - for standard input)`, cmd);
  return text === "-" ? io.stdin() : text;
}

/** A token string for a terminal: quoted with escapes so spaces, newlines and control bytes show. */
export function quoteToken(s: string): string {
  return JSON.stringify(s);
}

/** Pads columns of strings into an aligned plain-text table. */
export function table(rows: string[][], rightAlign: number[] = []): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => {
          const pad = " ".repeat(widths[i] - [...c].length);
          return rightAlign.includes(i) ? pad + c : c + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** Cuts a display string to n characters (by code point) with an ellipsis. */
export function clip(s: string, n: number): string {
  const cps = [...s];
  return cps.length <= n ? s : cps.slice(0, n - 1).join("") + "…";
}

/**
 * Checks an output file before any work starts: its folder exists and can be written, and the name
 * is not a folder or a special file. Also removes temp files that killed runs left in that folder
 * (outputs are written to a temp file and renamed, src/engine/model/tempFiles.ts).
 */
export function checkOutPath(file: string, flag = "--out"): void {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new IntrospectError("bad-input", `${flag} ${file}: the folder ${dir} does not exist. Create it first, or write elsewhere.`);
  }
  if (!st.isDirectory()) throw new IntrospectError("bad-input", `${flag} ${file}: ${dir} is not a folder.`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new IntrospectError("bad-input", `${flag} ${file}: the folder ${dir} is not writable.`);
  }
  let target: fs.Stats | undefined;
  try {
    target = fs.statSync(abs);
  } catch {
    target = undefined;
  }
  if (target && !target.isFile())
    throw new IntrospectError("bad-input", `${flag} ${file} is ${describeNonFile(target)}; name a file to write.`);
  removeStaleTemps(dir);
}

// Shared pieces of the `introspect` subcommands: argument parsing, exit codes, text input, output.

import * as fs from "node:fs";
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { CancelToken } from "../engine/types";
import { IntrospectError } from "../engine/types";

/** Exit codes a script can rely on (documented in `introspect --help` and README). */
export const EXIT = {
  ok: 0,
  usage: 1,
  input: 2,
  internal: 3,
  checkFailed: 4,
  cancelled: 130,
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

export function parse(cmd: Command, argv: string[]): Record<string, string | boolean | string[] | undefined> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...cmd.options },
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

export function intOption(values: Record<string, unknown>, name: string, cmd: string, dflt: number, min = 0): number {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number >= ${min} (got "${String(v)}")`, cmd);
  }
  return n;
}

export function numOption(values: Record<string, unknown>, name: string, cmd: string, dflt: number): number {
  const v = values[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number (got "${String(v)}")`, cmd);
  return n;
}

/** `--text TEXT`, `--text -` (standard input) or `--text-file FILE`. */
export async function readTextOption(values: Record<string, unknown>, io: Io, cmd: string, name = "text"): Promise<string> {
  const file = values[`${name}-file`];
  const text = values[name];
  if (typeof file === "string") {
    if (typeof text === "string") throw new UsageError(`give --${name} or --${name}-file, not both`, cmd);
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
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

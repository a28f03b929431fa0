// Waiting for a condition instead of sleeping. A page, an editor or a host answers when it
// answers, later on a loaded machine: every check of something asynchronous polls until it holds
// or a deadline passes, and a timeout says what was awaited and the last thing seen.
import * as assert from "assert";
import { isDeepStrictEqual, inspect } from "util";

export interface WaitOptions {
  /** Deadline in ms (default INTROSPECT_TEST_WAIT_MS or 30 s). */
  timeoutMs?: number;
  /** Pause between two polls in ms (default 50). */
  intervalMs?: number;
}

export const WAIT_MS = Number(process.env.INTROSPECT_TEST_WAIT_MS) || 30000;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const show = (v: unknown) => inspect(v, { depth: 4, breakLength: Infinity, maxStringLength: 300 });

/**
 * Polls `probe` until it returns something other than undefined, null or false, and returns that.
 * A probe that throws counts as "not yet" (the error is reported if the deadline passes).
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? WAIT_MS;
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= end) {
      const why = lastError === undefined ? "" : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(1)} s waiting for ${what}${why}`);
    }
    await pause(opts.intervalMs ?? 50);
  }
}

/**
 * Polls `read` until its value equals `expected` (deep equality; a RegExp: a string it matches)
 * and returns that value. On timeout, fails as an assertion with the last value read as `actual`.
 */
export async function eventually<T>(what: string, read: () => T | Promise<T>, expected: T | RegExp, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? WAIT_MS;
  const end = Date.now() + timeoutMs;
  const ok = (v: T) => (expected instanceof RegExp ? typeof v === "string" && expected.test(v) : isDeepStrictEqual(v, expected));
  let last: { value: T } | { error: unknown } | undefined;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= end) {
      const seen =
        last && "value" in last
          ? show(last.value)
          : `an error: ${last && last.error instanceof Error ? last.error.message : String(last?.error)}`;
      throw new assert.AssertionError({
        message: `${what}: still ${seen} after ${(timeoutMs / 1000).toFixed(1)} s, expected ${show(expected)}`,
        actual: last && "value" in last ? last.value : undefined,
        expected,
        operator: expected instanceof RegExp ? "match" : "deepStrictEqual",
      });
    }
    await pause(opts.intervalMs ?? 50);
  }
}

// Files written whole or not at all: a temp file beside the target, renamed over it when complete.
//
// Temp names end in `.introspect-….<pid>.tmp` (an edited graph `model.introspect-<hash>.onnx.<pid>.tmp`,
// a CLI output `out.safetensors.introspect-out.<pid>.tmp`). A process removes its own on exit; a
// process that was killed cannot, so the next run that writes into the same folder removes those
// whose process is gone (removeStaleTemps).
import * as fs from "fs";
import * as path from "path";

const liveTemps = new Set<string>();
let exitHook = false;

/** Registers a temp file to remove when this process exits (process.exit from a signal handler included). */
export function trackTemp(file: string): () => void {
  liveTemps.add(file);
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const f of liveTemps) fs.rmSync(f, { force: true });
    });
  }
  return () => liveTemps.delete(file);
}

/** `<target>.<pid>.tmp` for targets whose name already holds `.introspect-` (edited graphs). */
export function tempNameFor(target: string): string {
  return `${target}.${process.pid}.tmp`;
}

/** `<file>.introspect-out.<pid>.tmp`: the temp name for a user-named output file. */
export function outputTempName(file: string): string {
  return tempNameFor(`${file}.introspect-out`);
}

const STALE_TEMP = /\.introspect-[^/\\]*\.(\d+)\.tmp$/;
/** A temp file whose writer is gone is stale; so is any over an hour old (its pid may have been reused). */
const STALE_AGE_MS = 60 * 60 * 1000;
const swept = new Set<string>();

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp files killed runs left in `dir` (see the header), once per folder and process
 * unless `force`. Returns the names removed.
 */
export function removeStaleTemps(dir: string, force = false): string[] {
  const key = path.resolve(dir);
  if (swept.has(key) && !force) return [];
  swept.add(key);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  const now = Date.now();
  for (const name of names) {
    const m = STALE_TEMP.exec(name);
    if (!m) continue;
    const file = path.join(dir, name);
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile()) continue;
      if (processAlive(Number(m[1])) && now - st.mtimeMs < STALE_AGE_MS) continue;
      fs.rmSync(file, { force: true });
      removed.push(name);
    } catch {
      // Housekeeping: a file that vanished or cannot be removed is not worth failing a run for.
    }
  }
  return removed;
}

/**
 * Writes `chunks` to `target` through a temp file (default tempNameFor(target)) and a rename, so
 * `target` is either its old self or complete; `durable` also flushes the data to disk before the
 * rename (user outputs); `mkdir` creates the target's folder first. The temp file never outlives a failure.
 */
export function writeFileAtomic(
  target: string,
  chunks: Uint8Array[],
  opts: { temp?: string; durable?: boolean; mkdir?: boolean } = {},
): void {
  const temp = opts.temp ?? tempNameFor(target);
  if (opts.mkdir) fs.mkdirSync(path.dirname(target), { recursive: true });
  const untrack = trackTemp(temp);
  try {
    const fd = fs.openSync(temp, "w");
    try {
      for (const c of chunks) {
        let done = 0;
        while (done < c.byteLength) done += fs.writeSync(fd, c, done, c.byteLength - done);
      }
      if (opts.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, target);
  } catch (e) {
    fs.rmSync(temp, { force: true });
    throw e;
  } finally {
    untrack();
  }
}

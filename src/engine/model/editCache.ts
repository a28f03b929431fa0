// Edited graphs on disk, keyed by model content and edit set, so reopening is instant.
//
// Where: never in the user's model folder. Each model (by content fingerprint) has a folder in the
// cache (the CLI: $XDG_CACHE_HOME/introspect or ~/.cache/introspect; the extension: its global
// storage, through INTROSPECT_CACHE_DIR). The model's .onnx and weight files are hard-linked into
// that folder under their own names, so the edited file references them by relative path and
// onnxruntime reads the weights straight from disk (its "escapes model directory" check sees files
// in the edited file's own folder). Where a link cannot be made (another file system, no permission)
// the sessions get the weights as `externalData` buffers instead. The cache is bounded: the newest
// KEEP edited files per model, and least-recently-used model folders are removed beyond MAX_MODELS or
// beyond INTROSPECT_CACHE_MAX_BYTES of the cache's own bytes (pruneModels).
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ScannedModel } from "../onnx/modelFile";
import type { FileBytes } from "../onnx/wire";
import type { EditPlan, Subgraph } from "../surgery/surgery";
import { writeEdited } from "../surgery/surgery";
import { SPLIT_ABOVE } from "../surgery/splitWeights";
import { MAX_ONNX_BYTES, checkExternalData, readExternalData, readModelFile } from "./modelFiles";
import { removeStaleTemps, writeFileAtomic } from "./tempFiles";

/** Bump when the edited-file format changes, so stale cache entries are not reused. */
const EDIT_FORMAT = 3;

export interface EditedFile {
  path: string;
  externalData?: Array<{ path: string; data: Uint8Array }>;
  /** Whether this call wrote the file (false: found in the cache). */
  written: boolean;
}

/** Content fingerprint: size, mtime and three sampled 64 KiB windows (start, middle, end). */
export function fingerprint(src: FileBytes, mtimeMs: number): string {
  const h = crypto.createHash("sha256");
  h.update(`${src.size}:${mtimeMs}:`);
  const w = Math.min(65536, src.size);
  for (const at of [0, Math.floor((src.size - w) / 2), src.size - w]) h.update(src.read(at, w));
  return h.digest("hex").slice(0, 32);
}

export function defaultCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return process.env.INTROSPECT_CACHE_DIR || path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache"), "introspect");
}

/** Keeps the newest KEEP edited files of one model in a folder; older ones are stale edit sets. */
const KEEP = 24;
function prune(dir: string, stem: string): void {
  try {
    const mine = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(`${stem}.introspect-`) && f.endsWith(".onnx"))
      .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of mine.slice(KEEP)) fs.rmSync(path.join(dir, f), { force: true });
  } catch {
    // Pruning is housekeeping; a failure must not stop a run.
  }
}

/**
 * Returns the edited model file for (model, plan), writing it if no cached copy exists.
 * `editKey` must identify the edit set (e.g. its sorted JSON).
 */
export function materialiseEdit(
  m: ScannedModel,
  src: FileBytes,
  plan: EditPlan,
  editKey: string,
  fp: string,
  cacheDir?: string,
  sub?: Subgraph,
  forceCache = false,
  splitAbove = SPLIT_ABOVE,
): EditedFile {
  // The key covers the plan itself (tensor names, new and changed nodes), not just the site names,
  // so a change in how sites are mapped never reuses a stale edited file.
  const planKey = JSON.stringify([
    [...plan.outputs],
    plan.newInputs,
    plan.added.map((n) => [n.opType, n.input, n.output]),
    [...plan.changed].map(([i, n]) => [i, n.input, n.output]),
    sub ? [...sub.keep].sort((a, b) => a - b) : null,
    splitAbove,
  ]);
  const hash = crypto.createHash("sha256").update(`${EDIT_FORMAT}|${fp}|${editKey}|${planKey}`).digest("hex").slice(0, 20);
  const base = path.basename(m.path);
  const stem = base.replace(/\.onnx$/, "");
  const root = cacheDir ?? defaultCacheDir();
  const dir = path.join(root, fp);
  const target = path.join(dir, `${stem}.introspect-${hash}.onnx`);
  let written = false;
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTemps(dir);
  // The weights the edited file will reference, as links in its own folder; checked first.
  const external = checkExternalData(m);
  const needs = [...external.values()].map((f) => ({ name: f.location, real: f.realPath }));
  if (m.inlineBytes > 0) needs.push({ name: base, real: fs.realpathSync(m.path) });
  const linked = !forceCache && needs.every((n) => linkInto(dir, n.name, n.real));
  if (!fs.existsSync(target)) {
    writeFileAtomic(target, writeEdited(m, src, plan, m.inlineBytes > 0 ? base : null, sub, splitAbove), { mkdir: true });
    written = true;
    prune(dir, stem);
    pruneModels(root, dir);
  }
  touch(dir);
  if (linked) return { path: target, written };
  // No links: hand every referenced weight file over as a buffer, read through the containment
  // checks (modelFiles.ts) and only as far as the tensors declare.
  const externalData = readExternalData(m).filter((f) => m.inlineBytes === 0 || f.path !== base);
  if (m.inlineBytes > 0) externalData.push({ path: base, data: readModelFile(m.path, "The model file", MAX_ONNX_BYTES) });
  return { path: target, externalData, written };
}

/** `dir/name` as a hard link to `real` (kept when it already is one); false when one cannot be made. */
function linkInto(dir: string, name: string, real: string): boolean {
  const at = path.join(dir, name);
  if (!path.resolve(at).startsWith(path.resolve(dir) + path.sep)) return false;
  try {
    const a = fs.statSync(at, { throwIfNoEntry: false });
    const b = fs.statSync(real);
    if (a && a.ino === b.ino && a.dev === b.dev) return true;
    if (a) fs.rmSync(at, { force: true });
    fs.mkdirSync(path.dirname(at), { recursive: true });
    fs.linkSync(real, at);
    return true;
  } catch {
    return false;
  }
}

function touch(dir: string): void {
  try {
    const now = new Date();
    fs.utimesSync(dir, now, now);
  } catch {
    // Recency is housekeeping.
  }
}

/** Models (fingerprint folders) kept in the cache; the least recently used beyond this are removed. */
const MAX_MODELS = 16;
/** Default bound on the cache's own bytes (INTROSPECT_CACHE_MAX_BYTES, the setting introspect.cache.maxBytes). */
export const DEFAULT_CACHE_MAX_BYTES = 2 * 2 ** 30;

/** The size bound in effect: INTROSPECT_CACHE_MAX_BYTES when it is a positive number, else the default. */
export function cacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.INTROSPECT_CACHE_MAX_BYTES);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_CACHE_MAX_BYTES;
}

/**
 * Bytes a model's cache folder holds on its own: edited graphs, and weights whose only remaining
 * link is the cache's (a hard link shares its blocks with the model's file while that exists).
 */
export function ownBytes(dir: string): number {
  let total = 0;
  for (const f of fs.readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const st = fs.lstatSync(path.join(dir, f));
    if (st.isFile() && (f.includes(".introspect-") || st.nlink <= 1)) total += st.size;
  }
  return total;
}

/**
 * Least recently used first (a folder's mtime is touched on every use), model folders are removed
 * while there are more than MAX_MODELS or their own bytes together exceed `maxBytes`; `keep` (the
 * model in use) stays whatever its size.
 */
export function pruneModels(root: string, keep: string, maxBytes = cacheMaxBytes()): string[] {
  const removed: string[] = [];
  try {
    const dirs = fs
      .readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && /^[0-9a-f]{32}$/.test(d.name))
      .map((d) => path.join(root, d.name))
      .filter((p) => path.resolve(p) !== path.resolve(keep))
      .map((p) => ({ p, t: fs.statSync(p).mtimeMs, bytes: ownBytes(p) }))
      .sort((a, b) => b.t - a.t);
    let total = (fs.existsSync(keep) ? ownBytes(keep) : 0) + dirs.reduce((a, d) => a + d.bytes, 0);
    let count = dirs.length + 1;
    while (dirs.length && (count > MAX_MODELS || total > maxBytes)) {
      const d = dirs.pop()!;
      fs.rmSync(d.p, { recursive: true, force: true });
      removed.push(d.p);
      total -= d.bytes;
      count--;
    }
  } catch {
    // Pruning is housekeeping; a failure must not stop a run.
  }
  return removed;
}

/** Empties the cache ("Clear Cache"): every model folder and edited graph under `root`. Returns bytes freed (links not counted). */
export function clearCache(root = defaultCacheDir()): { removed: number; bytes: number } {
  let removed = 0;
  let bytes = 0;
  if (!fs.existsSync(root)) return { removed, bytes };
  for (const d of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, d.name);
    if (d.isDirectory() && /^[0-9a-f]{32}$/.test(d.name)) {
      for (const f of fs.readdirSync(p)) if (f.includes(".introspect-")) bytes += fs.statSync(path.join(p, f)).size;
      fs.rmSync(p, { recursive: true, force: true });
      removed++;
    } else if (d.isFile() && d.name.includes(".introspect-")) {
      bytes += fs.statSync(p).size;
      fs.rmSync(p, { force: true });
      removed++;
    }
  }
  return { removed, bytes };
}

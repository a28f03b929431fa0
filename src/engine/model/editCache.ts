// Edited graphs on disk, keyed by model content and edit set, so reopening is instant.
//
// Where: beside the original .onnx when its folder is writable (then the edited file references the
// original weights by relative path, and onnxruntime reads them straight from the original files);
// otherwise in a cache folder (default ~/.cache/introspect), and the sessions get the weight files as
// `externalData` buffers, which onnxruntime-node requires for data outside the model's own folder.
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ScannedModel } from "../onnx/modelFile";
import type { FileBytes } from "../onnx/wire";
import type { EditPlan, Subgraph } from "../surgery/surgery";
import { writeEdited } from "../surgery/surgery";
import { MAX_ONNX_BYTES, readExternalData, readModelFile } from "./modelFiles";
import { removeStaleTemps, writeFileAtomic } from "./tempFiles";

/** Bump when the edited-file format changes, so stale cache entries are not reused. */
const EDIT_FORMAT = 2;

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
  return process.env.INTROSPECT_CACHE_DIR || path.join(os.homedir(), ".cache", "introspect");
}

function writable(dir: string): boolean {
  try {
    // A folder without any write permission bit counts as read-only even for root, whom
    // access(2) lets write anywhere: `chmod a-w` says "leave this folder alone".
    if ((fs.statSync(dir).mode & 0o222) === 0) return false;
    fs.accessSync(dir, fs.constants.W_OK);
    const probe = path.join(dir, `.introspect-probe-${process.pid}`);
    fs.writeFileSync(probe, "");
    fs.unlinkSync(probe);
    return true;
  } catch {
    return false;
  }
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
): EditedFile {
  // The key covers the plan itself (tensor names, new and changed nodes), not just the site names,
  // so a change in how sites are mapped never reuses a stale edited file.
  const planKey = JSON.stringify([
    [...plan.outputs],
    plan.newInputs,
    plan.added.map((n) => [n.opType, n.input, n.output]),
    [...plan.changed].map(([i, n]) => [i, n.input, n.output]),
    sub ? [...sub.keep].sort((a, b) => a - b) : null,
  ]);
  const hash = crypto.createHash("sha256").update(`${EDIT_FORMAT}|${fp}|${editKey}|${planKey}`).digest("hex").slice(0, 20);
  const dir = path.dirname(m.path);
  const base = path.basename(m.path);
  const besideOriginal = !forceCache && writable(dir);
  const target = besideOriginal
    ? path.join(dir, `${base.replace(/\.onnx$/, "")}.introspect-${hash}.onnx`)
    : path.join(cacheDir ?? defaultCacheDir(), `${base.replace(/\.onnx$/, "")}.introspect-${hash}.onnx`);
  let written = false;
  removeStaleTemps(path.dirname(target));
  if (!fs.existsSync(target)) {
    writeFileAtomic(target, writeEdited(m, src, plan, m.inlineBytes > 0 ? base : null, sub), { mkdir: true });
    written = true;
    prune(path.dirname(target), base.replace(/\.onnx$/, ""));
  }
  if (besideOriginal) return { path: target, written };
  // Read-only model folder: hand every referenced weight file over as a buffer, read through the
  // containment checks (modelFiles.ts) and only as far as the tensors declare.
  const externalData = readExternalData(m).filter((f) => m.inlineBytes === 0 || f.path !== base);
  if (m.inlineBytes > 0) externalData.push({ path: base, data: readModelFile(m.path, "The model file", MAX_ONNX_BYTES) });
  return { path: target, externalData, written };
}

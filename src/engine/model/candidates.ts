// Model folders a user already has, for the model picker: the bundled demo models, model folders in
// the workspace, and the Hugging Face hub cache (models--org--name/snapshots/<rev>/, whose files are
// symlinks into the same repository's blobs/). Cheap by design: config.json is read (bounded), files
// are stat'ed, no model is opened. In the hub cache a link is followed only when its real path is in
// that repository's own blobs/ folder; any other file (a link elsewhere, a FIFO, a device) is left out.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hubBlobsDir, readModelText } from "./modelFiles";
import type { CandidateModel, CandidateSource } from "./candidateShapes";
import { listVariants } from "./resolve";

export type { CandidateModel, CandidateSource } from "./candidateShapes";

export interface CandidateOptions {
  /** Folders holding bundled models (each subfolder with an .onnx file is one). */
  demoRoots?: string[];
  /** Workspace folders, searched `workspaceDepth` levels deep (default 3). */
  workspaceFolders?: string[];
  workspaceDepth?: number;
  /** The hub cache folder; default hubCacheDir(). null: do not look. */
  hubCache?: string | null;
}

/** `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, "hub");
  return path.join(home, ".cache", "huggingface", "hub");
}

/** A model's name: its folder's, or `org/name` for a hub snapshot (…/models--org--name/snapshots/<rev>/…). */
export function modelName(p: string): string {
  const parts = path.resolve(p).split(path.sep);
  const i = parts.lastIndexOf("snapshots");
  if (i > 0 && parts[i - 1].startsWith("models--") && parts[i + 1]) return parts[i - 1].slice("models--".length).split("--").join("/");
  return path.basename(p);
}

/** Folders never searched in a workspace. */
const SKIP = new Set(["node_modules", ".git", ".hg", ".svn", "dist", "out", ".venv", "venv", "__pycache__"]);

/** Every model folder the picker can offer, demo models first, then the workspace's, then the hub's. */
export function listCandidateModels(o: CandidateOptions = {}): CandidateModel[] {
  const out: CandidateModel[] = [];
  for (const root of o.demoRoots ?? [])
    for (const d of subfolders(root)) {
      const c = describeModelFolder(d, "demo");
      if (c) out.push(c);
    }
  const seen = new Set(out.map((c) => path.resolve(c.path)));
  for (const ws of o.workspaceFolders ?? []) {
    for (const d of findModelFolders(ws, o.workspaceDepth ?? 3)) {
      if (seen.has(path.resolve(d))) continue;
      seen.add(path.resolve(d));
      const c = describeModelFolder(d, "workspace", path.relative(ws, d) || path.basename(d));
      if (c) out.push(c);
    }
  }
  const hub = o.hubCache === undefined ? hubCacheDir() : o.hubCache;
  if (hub) out.push(...listHubCache(hub));
  return out;
}

/** The hub cache's snapshots that hold a model, newest first within a repository. */
export function listHubCache(hub: string): CandidateModel[] {
  const out: CandidateModel[] = [];
  for (const repo of subfolders(hub).filter((d) => path.basename(d).startsWith("models--"))) {
    const name = path.basename(repo).slice("models--".length).split("--").join("/");
    const snaps = subfolders(path.join(repo, "snapshots"));
    const byTime = snaps.map((s) => ({ s, t: lstatOf(s)?.mtimeMs ?? 0 })).sort((a, b) => b.t - a.t);
    for (const { s } of byTime) {
      const c = describeModelFolder(s, "hub", name);
      if (c) out.push({ ...c, revision: path.basename(s) });
    }
  }
  return out;
}

/**
 * One folder as the picker shows it, or undefined when it holds no model file. Reads config.json
 * (or genai_config.json) and stats files; in a hub snapshot only files inside its repository's blobs/.
 */
export function describeModelFolder(folder: string, source: CandidateSource, name = path.basename(folder)): CandidateModel | undefined {
  const blobs = source === "hub" ? hubBlobsDir(folder) : undefined;
  if (source === "hub" && !blobs) return undefined;
  const stat = (p: string) => safeStat(p, blobs);
  const variants = listVariants(folder, stat);
  if (variants.length === 0) return undefined;
  const c: CandidateModel = { source, name, path: folder, variants, bytes: folderBytes(folder, stat) };
  const configFile = ["config.json", "genai_config.json"].map((f) => path.join(folder, f)).find((f) => stat(f)?.isFile());
  if (!configFile) return { ...c, problem: "it has no config.json, so its layer count cannot be checked" };
  try {
    const j = JSON.parse(readModelText(configFile, "The model's config")) as Record<string, unknown>;
    const cfg = (path.basename(configFile) === "genai_config.json" ? ((j.model as Record<string, unknown>)?.decoder ?? {}) : j) as Record<
      string,
      unknown
    >;
    const text = (cfg.text_config ?? {}) as Record<string, unknown>;
    const num = (...keys: string[]) => {
      for (const k of keys) for (const o of [cfg, text]) if (typeof o[k] === "number") return o[k] as number;
      return undefined;
    };
    const arch = (cfg.architectures as unknown[] | undefined)?.[0] ?? cfg.model_type ?? (j.model as Record<string, unknown>)?.type;
    c.architecture = typeof arch === "string" ? arch : undefined;
    c.layers = num("num_hidden_layers", "n_layer", "num_layers", "n_layers");
    c.width = num("hidden_size", "n_embd", "d_model");
  } catch (e) {
    c.problem = `its ${path.basename(configFile)} could not be read (${(e as Error).message.split("\n")[0]})`;
  }
  return c;
}

/** A stat of a regular file or folder; with `blobs`, links count only when they resolve into that folder. */
function safeStat(p: string, blobs?: string): fs.Stats | undefined {
  const l = lstatOf(p);
  if (!l) return undefined;
  if (l.isSymbolicLink()) {
    if (!blobs) return undefined;
    let real: string;
    try {
      real = fs.realpathSync(p);
    } catch {
      return undefined;
    }
    if (path.dirname(real) !== blobs) return undefined;
    const s = lstatOf(real);
    return s?.isFile() ? s : undefined;
  }
  return l.isFile() || l.isDirectory() ? l : undefined;
}

function lstatOf(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

/** Real subfolders (not links) of a folder, sorted; none when it cannot be read. */
function subfolders(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => path.join(dir, d.name))
      .sort();
  } catch {
    return [];
  }
}

/** Folders under `root` (itself included) that hold a model file, not descending into one found. */
function findModelFolders(root: string, depth: number): string[] {
  if (listVariants(root, (p) => safeStat(p)).length) return [root];
  if (depth === 0) return [];
  return subfolders(root)
    .filter((d) => !SKIP.has(path.basename(d)) && !path.basename(d).startsWith(".") && path.basename(d) !== "onnx")
    .flatMap((d) => findModelFolders(d, depth - 1));
}

/** Bytes of the files in a folder and its onnx/ subfolder, each real file once. */
function folderBytes(folder: string, stat: (p: string) => fs.Stats | undefined): number {
  const seen = new Set<string>();
  let total = 0;
  for (const dir of [folder, path.join(folder, "onnx")]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      const s = stat(path.join(dir, n));
      if (!s?.isFile() || seen.has(`${s.dev}:${s.ino}`)) continue;
      seen.add(`${s.dev}:${s.ino}`);
      total += s.size;
    }
  }
  return total;
}

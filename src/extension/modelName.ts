// Turns a model as a user writes it (a bundled model's name such as `demo-moe`, a path relative to
// the prompt file or the workspace, `~/...` or an absolute path) into a folder or .onnx file.
// Pure (no vscode): the callers pass the folders to look in and an `exists` check.
import * as path from "path";

export interface ModelLookup {
  /** Folder of the prompt file that names the model (prompt files only). */
  fileDir?: string;
  /** The first workspace folder. */
  workspaceFolder?: string;
  /** The extension's bundled models (`<extension>/models`). */
  bundledModels: string;
  home?: string;
  /** False in an untrusted workspace: only bundled models and the user's absolute paths are looked up. */
  trusted: boolean;
  exists(p: string): boolean;
}

/** Where a relative name is looked for, in order (absolute and `~` paths are used as written). */
export function modelCandidates(value: string, at: ModelLookup): string[] {
  let v = value.trim();
  if (!v) return [];
  if (v.startsWith("~")) v = path.join(at.home ?? "", v.slice(1));
  if (path.isAbsolute(v)) return at.trusted ? [v] : [];
  const out: string[] = [];
  if (at.trusted) {
    if (at.fileDir) out.push(path.join(at.fileDir, v));
    if (at.workspaceFolder) out.push(path.join(at.workspaceFolder, v), path.join(at.workspaceFolder, "models", v));
  }
  // A bare name may be one of the bundled demo models.
  if (!/[\\/]/.test(v)) out.push(path.join(at.bundledModels, v));
  else if (/^models[\\/][^\\/]+$/.test(v)) out.push(path.join(at.bundledModels, v.slice("models/".length)));
  return [...new Set(out)];
}

/** The first candidate that exists, or undefined when none does. */
export function resolveModelName(value: string, at: ModelLookup): string | undefined {
  return modelCandidates(value, at).find((p) => at.exists(p));
}

/** A short name for messages: a folder's name, or an .onnx file's folder name (`…/onnx/model.onnx` names the model folder). */
export function modelLabel(modelPath: string): string {
  const p = modelPath.replace(/[\\/]+$/, "");
  if (!p.endsWith(".onnx")) return path.basename(p);
  const dir = path.dirname(p);
  return path.basename(dir) === "onnx" ? path.basename(path.dirname(dir)) : path.basename(dir);
}

/** Same model? Paths compared after normalising separators and a trailing slash. */
export function sameModel(a: string | undefined, b: string | undefined): boolean {
  const norm = (p: string) => path.normalize(p).replace(/[\\/]+$/, "");
  return a !== undefined && b !== undefined && norm(a) === norm(b);
}

// Fidelity badge: how far a quantised variant (q4, int8, fp16, ...) strays from its folder's fp32
// model, as a two-model diff on a small built-in text set. Computed once per pair of files and
// cached as JSON in the cache dir (never beside the model).
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { defaultCacheDir } from "../model/editCache";
import type { LoadedModel } from "../model/loaded";
import { openModel } from "../model/open";
import { listVariants } from "../model/resolve";
import { writeFileAtomic } from "../model/tempFiles";
import type { TextTokenizer } from "../tokenizer";
import type { CancelToken } from "../types";
import { diffModels, summarise, type DiffSummary } from "./diff";

/** Short everyday texts of several kinds: prose, dialogue, a list, numbers, code. */
export const FIDELITY_TEXTS: readonly string[] = [
  "When Mary and John went to the store, John gave a drink to Mary. They walked home together after the rain had stopped.",
  "The movie was wonderful. I loved the music and the actors, and I would watch it again with my friends.",
  "17 + 25 = 42\n8 * 3 = 24\n100 - 58 = 42",
  "def add(x, y):\n    return x + y\n\nprint(add(2, 3))",
  "Shopping list: apples, bread, milk, eggs, cheese and a bag of rice for the week.",
  "The old town sits on a hill above the river. In summer the streets fill with visitors, and in winter it is quiet.",
];

export interface FidelityBadge {
  variant: string;
  reference: "fp32";
  /** The variant's and the reference's files (folder-relative). */
  files: [string, string];
  summary: DiffSummary;
  texts: number;
  /** Whether this came from the cache. */
  cached: boolean;
}

/** Why a model has no badge: it is the fp32 model, or its folder has none to compare with. */
export function fidelityUnavailable(model: LoadedModel): string | undefined {
  if (model.resolved.variant === "fp32") return "This is the folder's fp32 model: the reference itself.";
  if (!listVariants(model.resolved.folder).some((v) => v.variant === "fp32"))
    return `${path.basename(model.resolved.folder)} has no fp32 model (onnx/model.onnx) to compare the ${model.resolved.variant} variant with.`;
  return undefined;
}

function cacheFile(model: LoadedModel, ref: string, cacheDir: string): string {
  const h = crypto.createHash("sha256");
  for (const f of [model.resolved.onnxPath, ref]) {
    const st = fs.statSync(f);
    h.update(`${path.resolve(f)}:${st.size}:${st.mtimeMs};`);
  }
  h.update(JSON.stringify(FIDELITY_TEXTS));
  return path.join(cacheDir, "fidelity", `${h.digest("hex").slice(0, 32)}.json`);
}

/**
 * The badge of `model` (a variant) against its folder's fp32 model: read from the cache, or computed
 * by opening the fp32 model and diffing the built-in texts. Undefined where there is nothing to
 * compare (see fidelityUnavailable).
 */
export async function fidelityBadge(
  model: LoadedModel,
  tok: TextTokenizer,
  opts: { cacheDir?: string; cancel?: CancelToken; threads?: number } = {},
): Promise<FidelityBadge | undefined> {
  if (fidelityUnavailable(model)) return undefined;
  const ref = listVariants(model.resolved.folder).find((v) => v.variant === "fp32")!.file;
  const file = cacheFile(model, ref, opts.cacheDir ?? defaultCacheDir());
  try {
    const saved = JSON.parse(fs.readFileSync(file, "utf8")) as FidelityBadge;
    if (saved.summary?.text) return { ...saved, cached: true };
  } catch {
    // Not computed yet (or unreadable): compute it.
  }
  const reference = await openModel(model.resolved.folder, {
    variant: "fp32",
    cacheDir: opts.cacheDir,
    ...(opts.threads ? { intraOpThreads: opts.threads } : {}),
  });
  try {
    const diffs = [];
    for (const text of FIDELITY_TEXTS) diffs.push(await diffModels({ model: reference, tok }, { model, tok }, text, opts.cancel, true));
    const badge: FidelityBadge = {
      variant: model.resolved.variant,
      reference: "fp32",
      files: [path.relative(model.resolved.folder, model.resolved.onnxPath), path.relative(model.resolved.folder, ref)],
      summary: summarise(diffs),
      texts: FIDELITY_TEXTS.length,
      cached: false,
    };
    writeFileAtomic(file, [Buffer.from(JSON.stringify(badge))], { mkdir: true });
    return badge;
  } finally {
    await reference.dispose();
  }
}

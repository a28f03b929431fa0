// Activations of one site over a set of prompts or a corpus, stacked token-major, with where each
// row came from (for top-activating snippets), and the corpus readers (a folder of text files or a
// JSONL with a "text" field per line).

import * as fs from "node:fs";
import * as path from "node:path";
import type { LoadedModel } from "../model/loaded";
import { readModelText } from "../model/modelFiles";
import { CancelToken, HookName, IntrospectError, throwIfCancelled } from "../types";

export interface Collected {
  site: HookName;
  width: number;
  /** [rows, width] row-major. */
  data: Float32Array;
  /** Per row: which text and which token. */
  text: Int32Array;
  position: Int32Array;
}

export interface CollectOptions {
  /** Longest prompt taken (tokens); longer ones are cut. Default 128. */
  maxTokens?: number;
  /** Skip the first position (often an attention sink with outsized norm). Default false. */
  skipFirst?: boolean;
  onProgress?: (done: number, total: number) => void;
  cancel?: CancelToken;
}

export async function collectActivations(
  model: LoadedModel,
  prompts: number[][],
  site: HookName,
  o: CollectOptions = {},
): Promise<Collected> {
  const max = o.maxTokens ?? 128;
  const rows: Float32Array[] = [];
  const text: number[] = [];
  const position: number[] = [];
  let width = 0;
  for (let p = 0; p < prompts.length; p++) {
    throwIfCancelled(o.cancel);
    const ids = prompts[p].slice(0, max);
    if (ids.length === 0) continue;
    const cap = (await model.run({ ids, capture: [site], cancel: o.cancel })).captures.get(site);
    if (!cap) throw new IntrospectError("bad-input", `The loaded model gives no ${site}.`);
    width = cap.dims[cap.dims.length - 1];
    const from = o.skipFirst ? 1 : 0;
    for (let t = from; t < ids.length; t++) {
      rows.push(cap.data.subarray(t * width, (t + 1) * width));
      text.push(p);
      position.push(t);
    }
    o.onProgress?.(p + 1, prompts.length);
  }
  const data = new Float32Array(rows.length * width);
  rows.forEach((r, i) => data.set(r, i * width));
  return { site, width, data, text: Int32Array.from(text), position: Int32Array.from(position) };
}

const MAX_CORPUS_FILE = 64 * 2 ** 20;
const MAX_TEXTS = 20000;

/** Texts of a corpus: a .jsonl file ({"text": ...} per line), a .txt file (blank-line separated), or a folder of .txt/.md/.jsonl files. */
export function readCorpus(target: string): string[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    throw new IntrospectError("bad-input", `The corpus ${target} does not exist.`);
  }
  const files = st.isDirectory()
    ? fs
        .readdirSync(target)
        .filter((f) => /\.(txt|md|jsonl)$/i.test(f))
        .sort()
        .map((f) => path.join(target, f))
    : [target];
  const texts: string[] = [];
  for (const file of files) {
    const body = readModelText(file, "corpus file", MAX_CORPUS_FILE);
    if (file.toLowerCase().endsWith(".jsonl")) {
      body.split("\n").forEach((line, i) => {
        if (!line.trim()) return;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch {
          throw new IntrospectError(
            "bad-input",
            `${path.basename(file)} line ${i + 1} is not JSON: a corpus JSONL holds one {"text": "..."} per line.`,
          );
        }
        const t = typeof v === "string" ? v : (v as { text?: unknown })?.text;
        if (typeof t !== "string") throw new IntrospectError("bad-input", `${path.basename(file)} line ${i + 1} has no "text" string.`);
        texts.push(t);
      });
    } else {
      for (const part of body.split(/\n\s*\n/)) if (part.trim()) texts.push(part.trim());
    }
    if (texts.length >= MAX_TEXTS) break;
  }
  if (texts.length === 0) throw new IntrospectError("bad-input", `The corpus ${target} holds no text (.txt, .md or .jsonl files).`);
  return texts.slice(0, MAX_TEXTS);
}

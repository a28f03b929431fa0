// Finding and reading tokenizer.json / tokenizer_config.json for a model path.

import * as fs from "node:fs";
import * as path from "node:path";
import { describeNonFile, MAX_JSON_BYTES, MAX_TOKENIZER_BYTES, readModelText } from "../model/modelFiles";
import { IntrospectError } from "../types";

export const TOKENIZER_MISSING = "tokenizer.json not found next to model.onnx: set introspect.model to the model folder";

export interface TokenizerFiles {
  tokenizerPath: string;
  tokenizerJson: Record<string, unknown>;
  config: Record<string, unknown>;
  configPath?: string;
}

/**
 * Where tokenizer.json lives for a model path: the file itself, a folder holding it, or a `.onnx`
 * file (Transformers.js keeps `onnx/model.onnx` one level below tokenizer.json).
 */
export function findTokenizerJson(folderOrFile: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folderOrFile);
  } catch {
    throw new IntrospectError("model-not-found", `${folderOrFile} does not exist: set introspect.model to a model folder.`);
  }
  const candidates: string[] = [];
  if (stat.isDirectory()) {
    candidates.push(path.join(folderOrFile, "tokenizer.json"));
    candidates.push(path.join(path.dirname(path.resolve(folderOrFile)), "tokenizer.json"));
  } else if (path.basename(folderOrFile).endsWith(".json")) {
    candidates.push(folderOrFile);
  } else {
    const dir = path.dirname(path.resolve(folderOrFile));
    candidates.push(path.join(dir, "tokenizer.json"), path.join(path.dirname(dir), "tokenizer.json"));
  }
  for (const c of candidates) {
    if (!fs.existsSync(c)) continue;
    const st = fs.statSync(c);
    if (st.isFile()) return c;
    throw new IntrospectError(
      "corrupt-model",
      `${c} is ${describeNonFile(st)}, not a regular file: replace it with the tokenizer.json from the model's repository.`,
    );
  }
  throw new IntrospectError("tokenizer-missing", TOKENIZER_MISSING);
}

function readJson(file: string, what: string, maxBytes: number): Record<string, unknown> {
  let text: string;
  try {
    text = readModelText(file, what, maxBytes);
  } catch (e) {
    // A FIFO, a device or an oversized file: the sentence says which.
    if (e instanceof IntrospectError && e.code === "corrupt-model") throw e;
    throw new IntrospectError("tokenizer-missing", `${what} at ${file} could not be read (${(e as Error).message}).`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new IntrospectError(
      "corrupt-model",
      `${what} at ${file} is not valid JSON (${(e as Error).message}): replace it with the file from the model's repository.`,
    );
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new IntrospectError(
      "corrupt-model",
      `${what} at ${file} does not hold a JSON object: replace it with the file from the model's repository.`,
    );
  }
  return value as Record<string, unknown>;
}

export function readTokenizerFiles(folderOrFile: string): TokenizerFiles {
  const tokenizerPath = findTokenizerJson(folderOrFile);
  const tokenizerJson = readJson(tokenizerPath, "tokenizer.json", MAX_TOKENIZER_BYTES);
  if (!tokenizerJson.model || typeof tokenizerJson.model !== "object") {
    throw new IntrospectError(
      "corrupt-model",
      `tokenizer.json at ${tokenizerPath} has no "model" section, so it is not a Hugging Face tokenizer file: replace it with the file from the model's repository.`,
    );
  }
  const configPath = path.join(path.dirname(tokenizerPath), "tokenizer_config.json");
  const config = fs.existsSync(configPath) ? readJson(configPath, "tokenizer_config.json", MAX_JSON_BYTES) : {};
  return { tokenizerPath, tokenizerJson, config, configPath: fs.existsSync(configPath) ? configPath : undefined };
}

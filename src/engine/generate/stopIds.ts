// Which token ids end a generation: the tokenizer's end-of-sequence id and every eos_token_id of
// the model folder's generation_config.json (which may list several).
import * as path from "path";
import { readModelText } from "../model/modelFiles";

/** EOS ids of a model folder; a missing or unreadable generation_config.json leaves the tokenizer's. */
export function stopIdsOf(folder: string, tokenizerEos: number | undefined): number[] {
  const ids = new Set<number>(tokenizerEos === undefined ? [] : [tokenizerEos]);
  try {
    const cfg = JSON.parse(readModelText(path.join(folder, "generation_config.json"), "generation_config.json")) as {
      eos_token_id?: number | number[];
    };
    for (const id of [cfg.eos_token_id ?? []].flat()) if (Number.isInteger(id)) ids.add(id);
  } catch {
    // No generation_config.json (or unreadable): the tokenizer's EOS is enough.
  }
  return [...ids];
}

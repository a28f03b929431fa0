// What is checked around opening a model: site names a caller gives (short forms expanded), the
// tokenizer against the model's vocabulary, and onnxruntime's refusal to load a graph as a sentence.
import * as fs from "fs";
import * as path from "path";
import type { HookName, ModelInfo } from "../types";
import { IntrospectError, SITE_SHORT_NAMES } from "../types";
import { listVariants, type ResolvedModel } from "./resolve";

const SHORT: Record<string, string> = SITE_SHORT_NAMES;

/** `resid_post` -> every layer's `blocks.L.hook_resid_post` that exists; full names are checked. */
export function expandSites(list: string[], info: ModelInfo): HookName[] {
  const out: HookName[] = [];
  for (const raw of list.map((s) => s.trim()).filter(Boolean)) {
    const kind = SHORT[raw] ?? (raw.startsWith("hook_") || raw.includes(".hook_") ? raw : undefined);
    if (raw === "ln_final" || raw === "ln_final.hook_normalized") out.push("ln_final.hook_normalized");
    else if (kind && !raw.startsWith("blocks.")) {
      const found = info.sites.filter((s) => s.endsWith(`.${kind}`) && /^blocks\.\d+\./.test(s));
      if (found.length === 0)
        throw new IntrospectError(
          "bad-input",
          `This model has no ${raw} sites (${info.notes.join("; ") || "not found by the architecture map"}).`,
        );
      out.push(...found);
    } else if (info.sites.includes(raw)) out.push(raw);
    else
      throw new IntrospectError(
        "bad-input",
        `Unknown site ${raw}. Use names like blocks.0.hook_resid_post or short forms: ${Object.keys(SHORT).join(", ")}.`,
      );
  }
  return [...new Set(out)];
}

/**
 * Whether a tokenizer fits a model: ids past the model's vocabulary would index nothing, so a larger
 * tokenizer is refused; a smaller one (vocabularies padded to a multiple of 64 or 128) is noted on
 * the model's info, since those extra logits never decode to text.
 */
export function checkTokenizerFits(model: { info: ModelInfo }, tok: { vocabSize: number; path?: string }): void {
  const V = model.info.vocabSize;
  if (tok.vocabSize > V)
    throw new IntrospectError(
      "tokenizer-missing",
      `The tokenizer beside ${model.info.id} has ${tok.vocabSize} tokens but the model's logits have ${V}: it belongs to another model. Put the model's own tokenizer.json beside it.`,
    );
  const note = `the tokenizer has ${tok.vocabSize} tokens, the model's vocabulary ${V} (the extra logits decode to no text)`;
  if (tok.vocabSize < V && !model.info.notes.includes(note)) model.info.notes.push(note);
}

/**
 * onnxruntime's refusal to load a graph, as a sentence: the op it has no kernel for (a variant made
 * for another runtime, say) and which other variants of the same folder do load.
 */
export function loadError(resolved: ResolvedModel, e: Error): IntrospectError {
  const first = e.message.split("\n")[0];
  const op =
    /implementation for (\w+)\(/.exec(first)?.[1] ??
    /([\w.]+:\w+)\(-?\d+\) is not a registered/.exec(first)?.[1] ??
    /Unrecognized attribute|No Op registered for (\w+)/.exec(first)?.[1] ??
    /[Oo]p type[^\w]+(\w+)/.exec(first)?.[1] ??
    /domain[^\w]+([\w.]+)/.exec(first)?.[1];
  const file = path.basename(resolved.onnxPath);
  const others = listVariants(resolved.folder).filter((v) => v.file !== resolved.onnxPath);
  const ok = others.filter((v) => canLoadQuick(v.file));
  const hint = ok.length
    ? ` This folder also has ${ok.map((v) => `${v.variant} (${path.basename(v.file)})`).join(", ")}: set introspect.variant (CLI: --variant) to one of them.`
    : "";
  return new IntrospectError(
    op ? "unsupported-model" : "corrupt-model",
    op
      ? `onnxruntime on this machine cannot run ${file}: it has no kernel for ${op}.${hint}`
      : `onnxruntime could not load ${file}: ${first}${hint}`,
  );
}

/** A cheap guess that another variant loads: its file is readable and not the failing one. */
function canLoadQuick(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

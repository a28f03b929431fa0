// Completion of block keywords and option keys at column 0, keys inside blocks, and values:
// site names (those the model has, when known), layer numbers, enum words, model names.
import { CompletionItemKind, InsertTextFormat, MarkupKind, type CompletionItem, type Position } from "vscode-languageserver";
import {
  BLOCK_DOCS,
  BLOCK_KINDS,
  KEYS_BY_BLOCK,
  lookupKey,
  OPTION_KEYS,
  SITE_DOCS,
  SITE_NAMES,
  type Block,
  type KeySpec,
  type PromptFile,
} from "../../engine";
import { shortSite } from "./diagnostics";
import type { LanguageModelFacade } from "./facade";

const SNIPPETS: Record<Block["kind"], string> = {
  prompt: "prompt ${1:name}\n  $0",
  contrast: "contrast ${1:name}\n  layer ${2:2}\n  position ${3|last,mean|}\n  method ${4|diffmeans,pca|}\n  + $5\n  - $0",
  patch: 'patch ${1:name}\n  clean    $2\n  corrupt  $3\n  answer   "$4"\n  wrong    "$5"\n  sites    resid_pre attn_out mlp_out$0',
  options: "options\n  model ${1:demo-llama}$0",
};

export function computeCompletions(
  file: PromptFile,
  lineText: string,
  pos: Position,
  facade: LanguageModelFacade | undefined,
): CompletionItem[] {
  const prefix = lineText.slice(0, pos.character);
  const top = /^(\S*)$/.exec(prefix);
  if (top) {
    return [
      ...BLOCK_KINDS.map((k) => ({
        label: k,
        kind: CompletionItemKind.Keyword,
        documentation: BLOCK_DOCS[k],
        insertText: SNIPPETS[k],
        insertTextFormat: InsertTextFormat.Snippet,
      })),
      ...keyItems(OPTION_KEYS),
    ];
  }
  const topValue = /^(\S+)\s+(.*)$/.exec(prefix);
  if (topValue) {
    const key = lookupKey(OPTION_KEYS, topValue[1]);
    return key ? valueItems(key.name, key.spec, topValue[2], facade) : [];
  }
  const block = enclosingBlock(file, pos.line);
  if (!block || block.kind === "prompt") return [];
  const keys = KEYS_BY_BLOCK[block.kind];
  if (/^\s+\S*$/.test(prefix)) {
    const items = keyItems(keys);
    if (block.kind === "contrast") {
      items.push({ label: "+", kind: CompletionItemKind.Operator, detail: "positive prompt", insertText: "+ " });
      items.push({ label: "-", kind: CompletionItemKind.Operator, detail: "negative prompt", insertText: "- " });
    }
    return items;
  }
  const m = /^\s+(\S+)\s+(.*)$/.exec(prefix);
  const key = m && lookupKey(keys, m[1]);
  return key ? valueItems(key.name, key.spec, m[2], facade) : [];
}

/** The block a line belongs to, including blank lines just typed below its last line. */
function enclosingBlock(file: PromptFile, line: number): Block | undefined {
  let found: Block | undefined;
  for (const b of file.blocks) if (b.range.start.line <= line) found = b;
  return found;
}

function keyItems(keys: Record<string, KeySpec>): CompletionItem[] {
  return Object.entries(keys).map(([name, spec]) => ({
    label: name,
    kind: CompletionItemKind.Property,
    documentation: { kind: MarkupKind.Markdown, value: spec.doc },
    insertText: `${name} `,
  }));
}

function valueItems(key: string, spec: KeySpec, typed: string, facade: LanguageModelFacade | undefined): CompletionItem[] {
  const already = new Set(typed.split(/[\s,]+/).filter(Boolean));
  const info = facade?.info();
  switch (spec.kind) {
    case "sites": {
      const available = info?.sites.length ? new Set(info.sites.map(shortSite)) : undefined;
      return SITE_NAMES.filter((s) => !already.has(s) && (!available || available.has(s))).map((s) => ({
        label: s,
        kind: CompletionItemKind.EnumMember,
        documentation: SITE_DOCS[s],
      }));
    }
    case "layers":
      if (!info || info.numLayers <= 0) return [];
      return Array.from({ length: info.numLayers }, (_, L) => String(L))
        .filter((L) => !already.has(L))
        .map((L, i) => ({ label: L, kind: CompletionItemKind.Value, detail: `layer of ${info.id}`, sortText: String(i).padStart(5, "0") }));
    case "enum":
      return (spec.values ?? []).map((v) => ({ label: v, kind: CompletionItemKind.EnumMember, detail: key }));
    case "bool":
      return ["yes", "no"].map((v) => ({ label: v, kind: CompletionItemKind.EnumMember, detail: key }));
    case "word":
      return key === "model"
        ? (facade?.knownModels?.() ?? ["demo-llama", "demo-moe", "demo-gpt2"]).map((v) => ({ label: v, kind: CompletionItemKind.Module }))
        : [];
    default:
      return [];
  }
}

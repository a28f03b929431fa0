// The outline: one symbol per block, with its keys and prompts as children.
import { SymbolKind, type DocumentSymbol, type FoldingRange } from "vscode-languageserver";
import { textsOf, type Block, type PromptFile } from "../../engine";

const KIND: Record<Block["kind"], SymbolKind> = {
  prompt: SymbolKind.String,
  contrast: SymbolKind.Class,
  patch: SymbolKind.Function,
  options: SymbolKind.Namespace,
};

export function computeSymbols(file: PromptFile): DocumentSymbol[] {
  return file.blocks.map((b) => {
    const selectionRange = b.name?.range ?? b.keyword.range;
    const children: DocumentSymbol[] = [];
    for (const t of textsOf(b)) {
      if (b.kind === "prompt") break;
      children.push({
        name: t.role,
        detail: firstLine(t.value.text),
        kind: SymbolKind.String,
        range: t.value.range,
        selectionRange: t.value.range,
      });
    }
    const detail = b.kind === "prompt" ? firstLine(b.text?.text ?? "") : b.kind;
    return { name: b.name?.value ?? b.kind, detail, kind: KIND[b.kind], range: b.range, selectionRange, children };
  });
}

function firstLine(s: string): string {
  const line = s.split("\n")[0];
  return line.length > 60 ? line.slice(0, 57) + "..." : line;
}

/** One fold per block of more than one line (from its header to its last line). */
export function computeFoldingRanges(file: PromptFile): FoldingRange[] {
  return file.blocks
    .filter((b) => b.range.end.line > b.range.start.line)
    .map((b) => ({ startLine: b.range.start.line, endLine: b.range.end.line }));
}

// Editor tint after a probe: each probed token's range coloured by one scalar (a neuron's
// activation, surprisal, activation shift), with a hover giving token id, string and value.
// Colours are a few fixed buckets (decoration types are created once, not per token).
import * as vscode from "vscode";
import type { ProbeResult, TintRequest } from "../../protocol/probeData";
import type { ProbeTarget } from "./target";

const BUCKETS = 8;
/** Diverging: blue (negative) .. red (positive); sequential: one hue, stronger with the value. */
const NEG = [59, 130, 246];
const POS = [239, 68, 68];

export interface Tinted {
  result: ProbeResult;
  target: ProbeTarget;
  uri: string;
}

export class EditorTint implements vscode.Disposable {
  private readonly pos = buckets(POS);
  private readonly neg = buckets(NEG);
  private hovers: { uri: string; range: vscode.Range; md: vscode.MarkdownString }[] = [];
  private readonly hoverReg: vscode.Disposable;

  constructor() {
    this.hoverReg = vscode.languages.registerHoverProvider(
      { scheme: "*" },
      {
        provideHover: (doc, position) => {
          const h = this.hovers.find((x) => x.uri === doc.uri.toString() && x.range.contains(position));
          return h ? new vscode.Hover(h.md, h.range) : undefined;
        },
      },
    );
  }

  /** Applies `tint` to the probe's document; null clears. Returns how many tokens were tinted. */
  apply(probe: Tinted | undefined, tint: TintRequest | null): number {
    this.clear();
    if (!probe || !tint) return 0;
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === probe.uri);
    if (!editor) return 0;
    const { result, target } = probe;
    const values = tint.values;
    let maxAbs = 0;
    let min = Infinity;
    for (const v of values) {
      if (!Number.isFinite(v)) continue;
      maxAbs = Math.max(maxAbs, Math.abs(v));
      min = Math.min(min, v);
    }
    const signed = tint.signed || min < 0;
    const perBucket = { pos: this.pos.map(() => [] as vscode.Range[]), neg: this.neg.map(() => [] as vscode.Range[]) };
    let n = 0;
    result.tokens.forEach((tok, i) => {
      const v = values[i];
      if (i >= values.length || !Number.isFinite(v) || tok.span.end <= tok.span.start) return;
      const r = target.toDocument(tok.span.start, tok.span.end);
      const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
      // Values under half a bucket stay untinted (a faint colour would still read as a sign).
      const level = maxAbs > 0 ? Math.round((Math.abs(v) / maxAbs) * BUCKETS) : 0;
      if (level > 0) (signed && v < 0 ? perBucket.neg : perBucket.pos)[level - 1].push(range);
      const md = new vscode.MarkdownString();
      md.appendMarkdown(`**${escapeMd(tint.label)}**: \`${v.toPrecision(4)}\`  \n`);
      md.appendMarkdown(`token ${i} · id ${tok.id} · `);
      md.appendCodeblock(JSON.stringify(tok.text), "json");
      this.hovers.push({ uri: probe.uri, range, md });
      n++;
    });
    this.pos.forEach((d, k) => editor.setDecorations(d, perBucket.pos[k]));
    this.neg.forEach((d, k) => editor.setDecorations(d, perBucket.neg[k]));
    return n;
  }

  clear(): void {
    for (const e of vscode.window.visibleTextEditors) for (const d of [...this.pos, ...this.neg]) e.setDecorations(d, []);
    this.hovers = [];
  }

  dispose(): void {
    this.clear();
    this.hoverReg.dispose();
    [...this.pos, ...this.neg].forEach((d) => d.dispose());
  }
}

function buckets(rgb: number[]): vscode.TextEditorDecorationType[] {
  return Array.from({ length: BUCKETS }, (_, k) =>
    vscode.window.createTextEditorDecorationType({
      // Alpha grows with |value|; the text colour stays the theme's, so it stays readable.
      backgroundColor: `rgba(${rgb.join(",")},${((0.6 * (k + 1)) / BUCKETS).toFixed(3)})`,
      borderRadius: "2px",
    }),
  );
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!<>|]/g, "\\$&");
}

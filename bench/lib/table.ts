// Rows of the results table: each a ratio of two measurements from the same run, against a goal.

import { fmtBytes, fmtSeconds, relSpread, Stat } from "./stats";

export type Unit = "s" | "tok/s" | "bytes";

export interface Cell {
  label: string;
  stat: Stat;
  unit: Unit;
}

export interface Goal {
  /** "max": ratio must be at most value; "min": at least value; "report": no goal. */
  kind: "max" | "min" | "report";
  value?: number;
}

export interface Row {
  figure: string;
  introspect?: Cell;
  reference?: Cell;
  ratio?: number;
  /** Relative spread of the ratio (sum of both sides' relative half-ranges). */
  ratioSpread?: number;
  goal: Goal;
  met?: boolean;
  notMeasured?: string;
  note?: string;
}

export function ratioRow(figure: string, a: Cell, b: Cell, goal: Goal, note?: string): Row {
  const ratio = a.stat.median / b.stat.median;
  const met = goal.kind === "report" ? undefined : goal.kind === "max" ? ratio <= goal.value! : ratio >= goal.value!;
  return { figure, introspect: a, reference: b, ratio, ratioSpread: relSpread(a.stat) + relSpread(b.stat), goal, met, note };
}

export function notMeasured(figure: string, goal: Goal, why: string): Row {
  return { figure, goal, notMeasured: why };
}

export function fmtCell(c?: Cell): string {
  if (!c) return "";
  const v = c.unit === "s" ? fmtSeconds(c.stat.median) : c.unit === "bytes" ? fmtBytes(c.stat.median) : `${c.stat.median.toFixed(1)} tok/s`;
  const spread = c.stat.samples.length > 1 ? ` ±${(relSpread(c.stat) * 100).toFixed(0)}%` : "";
  return `${c.label} ${v}${spread}`;
}

export function fmtGoal(g: Goal): string {
  return g.kind === "report" ? "report" : `${g.kind === "max" ? "<=" : ">="} ${g.value!.toFixed(2)}`;
}

function fmtRatio(r: Row): string {
  if (r.notMeasured) return `not measured: ${r.notMeasured}`;
  if (r.ratio === undefined) return "";
  return `${r.ratio.toFixed(r.ratio < 0.1 ? 3 : 2)} ±${((r.ratioSpread ?? 0) * 100).toFixed(0)}%`;
}

function fmtMet(r: Row): string {
  return r.met === undefined ? "" : r.met ? "yes" : "NO";
}

const HEAD = ["figure", "Introspect", "reference", "ratio", "goal", "met?"];

function cells(r: Row): string[] {
  const fig = r.note ? `${r.figure} (${r.note})` : r.figure;
  return [fig, fmtCell(r.introspect), fmtCell(r.reference), fmtRatio(r), fmtGoal(r.goal), fmtMet(r)];
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const lines = [`| ${HEAD.join(" | ")} |`, `|${HEAD.map(() => "---").join("|")}|`];
  for (const r of rows) lines.push(`| ${cells(r).map(esc).join(" | ")} |`);
  return lines.join("\n");
}

export function consoleTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.min(60, Math.max(...all.map((r) => r[i].length))));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
  return [line(HEAD), widths.map((w) => "-".repeat(w)).join("  "), ...all.slice(1).map(line)].join("\n");
}

// Opening the GPT-2-small model with every weight inline: peak resident memory / file size.

import * as fs from "fs";
import * as path from "path";
import { loadEngine } from "../lib/engine";
import { measureOpen, type OpenMemory } from "../lib/memory";
import { statOf } from "../lib/stats";
import { notMeasured, ratioRow, Row, type Cell } from "../lib/table";
import { bytes, Figure } from "./figure";

export const memory: Figure = {
  id: "memory",
  referenceTasks: [],
  async run(ctx) {
    const file = ctx.model.inlineOnnx;
    const goal = { kind: "max", value: 1.15 } as const;
    if (!file) return [notMeasured("open inline model: peak RSS / file size", goal, `${ctx.model.name} has no inline variant`)];
    const size = fs.statSync(file).size;
    const mb = Math.round(size / 2 ** 20);
    const fig = `open ${mb} MiB inline model (surgery + session): peak RSS / file size`;
    const rows: Row[] = [];
    const e = await loadEngine();
    if (!e.api) rows.push(notMeasured(fig, goal, e.reason!));
    else {
      // Five fresh children of each, interleaved: with huge pages for malloc'd memory the peak
      // moved by 60 MiB from one open to the next.
      const folder = path.dirname(path.dirname(file));
      const HUGE = "glibc.malloc.hugetlb=1";
      const kinds = [
        ["now", "engine", undefined],
        ["unsplit", "engine-unsplit", undefined],
        ["huge pages", "engine", HUGE],
      ] as const;
      const peaks = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
      let last: OpenMemory | undefined;
      try {
        for (let i = 0; i < 5; i++) {
          for (const [k, mode, tun] of kinds) {
            const r = measureOpen(mode, folder, tun);
            peaks.get(k)!.push(r.maxRssBytes);
            if (k === "now") last = r;
          }
        }
        const cell = (label: string, v: number[]): Cell => ({ label, stat: statOf(v), unit: "bytes" });
        const note = `median of 5; child baseline ${Math.round(last!.baselineRssBytes / 2 ** 20)} MiB, ${(last!.ms / 1000).toFixed(1)} s`;
        rows.push(ratioRow(fig, cell("peak RSS", peaks.get("now")!), bytes("file", size), goal, note));
        const context = (figure: string, k: string): Row => ({
          ...ratioRow(figure, cell("peak RSS", peaks.get(k)!), bytes("file", size), { kind: "report" }),
          note: "context; same children, interleaved",
        });
        rows.push(context("open, large weights written whole (before: splitWeightsAbove 0) / file size", "unsplit"));
        rows.push(context(`open with the earlier malloc setting ${HUGE} (before) / file size`, "huge pages"));
      } catch (err) {
        rows.push(notMeasured(fig, goal, (err as Error).message));
      }
    }
    for (const mode of ["ort-path", "ort-buffer"] as const) {
      let r;
      try {
        r = measureOpen(mode, file);
      } catch (err) {
        rows.push(notMeasured(`plain ORT session (${mode})`, { kind: "report" }, (err as Error).message));
        continue;
      }
      ctx.log(`${mode}: peak RSS ${Math.round(r.maxRssBytes / 2 ** 20)} MiB in ${r.ms.toFixed(0)} ms`);
      rows.push({
        ...ratioRow(
          `plain ORT session (${mode === "ort-path" ? "from path" : "from a Buffer"}): peak RSS / file size`,
          bytes("peak RSS", r.maxRssBytes),
          { label: "file", stat: statOf([size]), unit: "bytes" },
          { kind: "report" },
        ),
        note: `context; child baseline ${Math.round(r.baselineRssBytes / 2 ** 20)} MiB, ${(r.ms / 1000).toFixed(1)} s`,
      });
    }
    return rows;
  },
};

// Opening the GPT-2-small model with every weight inline: peak resident memory / file size.

import * as fs from "fs";
import * as path from "path";
import { loadEngine } from "../lib/engine";
import { measureOpen } from "../lib/memory";
import { statOf } from "../lib/stats";
import { notMeasured, ratioRow, Row } from "../lib/table";
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
      try {
        const r = measureOpen("engine", path.dirname(path.dirname(file)));
        rows.push(
          ratioRow(
            fig,
            bytes("peak RSS", r.maxRssBytes),
            bytes("file", size),
            goal,
            `child baseline ${Math.round(r.baselineRssBytes / 2 ** 20)} MiB, ${(r.ms / 1000).toFixed(1)} s`,
          ),
        );
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

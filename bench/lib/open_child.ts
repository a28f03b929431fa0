// Child process for the memory figure: opens one model and reports its peak resident memory.
// A fresh process per measurement, because maxRSS never goes down.
//   node -r tsx/cjs bench/lib/open_child.ts <ort-path|ort-buffer|engine|engine-q4>[-unsplit] <model.onnx or folder>
// -unsplit: the engine with large weights written whole (splitWeightsAbove 0), the before of the split.

import * as fs from "fs";
import * as ort from "onnxruntime-node";
import { sessionOptions } from "./ort";
import { loadEngine } from "./engine";

function statusKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  if (!m) throw new Error(`${field} not in /proc/self/status`);
  return Number(m[1]);
}

async function main(): Promise<void> {
  const [mode, target] = process.argv.slice(2);
  const engine = mode.startsWith("engine") ? await loadEngine() : undefined;
  const baselineRss = process.memoryUsage().rss;
  const t = process.hrtime.bigint();
  if (mode === "ort-path") {
    await ort.InferenceSession.create(target, sessionOptions());
  } else if (mode === "ort-buffer") {
    await ort.InferenceSession.create(fs.readFileSync(target), sessionOptions());
  } else if (/^engine(-q4)?(-unsplit)?$/.test(mode)) {
    if (!engine?.api) throw new Error(`engine not available: ${engine?.reason}`);
    await engine.api.open(target, {
      ...(mode.includes("-q4") ? { variant: "q4" } : {}),
      ...(mode.endsWith("-unsplit") ? { splitWeightsAbove: 0 } : {}),
    });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  // VmHWM, not resourceUsage().maxRSS: Linux carries the parent's peak into a child's maxRSS
  // across fork + exec (signal->maxrss), so a child of a large bench process reports the parent's.
  const maxRssBytes = statusKb("VmHWM") * 1024;
  const resourceUsageMaxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ mode, maxRssBytes, baselineRssBytes: baselineRss, ms, resourceUsageMaxRss }) + "\n");
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e?.message ?? e) + "\n");
    process.exit(1);
  },
);

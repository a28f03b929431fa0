// Peak resident memory of opening a model, measured in a child process.

import { spawnSync } from "child_process";
import * as path from "path";
import { ROOT } from "./models";

export interface OpenMemory {
  mode: string;
  maxRssBytes: number;
  baselineRssBytes: number;
  ms: number;
}

export function measureOpen(mode: "ort-path" | "ort-buffer" | "engine" | "engine-q4", target: string): OpenMemory {
  const child = path.join(ROOT, "bench", "lib", "open_child.ts");
  const r = spawnSync(process.execPath, ["-r", "tsx/cjs", child, mode, target], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`opening ${target} (${mode}) failed: ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as OpenMemory;
}

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

export type OpenMode = "ort-path" | "ort-buffer" | "engine" | "engine-q4" | "engine-unsplit" | "engine-q4-unsplit";

/** `extraTunables`: glibc settings added to the child's GLIBC_TUNABLES (a before row of the malloc settings). */
export function measureOpen(mode: OpenMode, target: string, extraTunables?: string): OpenMemory {
  const child = path.join(ROOT, "bench", "lib", "open_child.ts");
  const env = extraTunables
    ? { ...process.env, GLIBC_TUNABLES: [process.env.GLIBC_TUNABLES, extraTunables].filter(Boolean).join(":") }
    : process.env;
  const r = spawnSync(process.execPath, ["-r", "tsx/cjs", child, mode, target], { cwd: ROOT, encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`opening ${target} (${mode}) failed: ${r.stderr.trim().split("\n").pop()}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as OpenMemory;
}

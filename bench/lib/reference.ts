// Runs bench/reference/torch_hooks.py (the PyTorch-hooks side) once per benchmark run.

import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PYTHON, ROOT } from "./models";

export interface PyStat {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export interface ReferenceResult {
  env: Record<string, unknown> & { gflops_64x768x3072: number; openblas: boolean; threads: number };
  check?: { shape: number[]; file: string };
  plain?: Record<string, PyStat>;
  capture?: Record<string, PyStat>;
  sweep?: PyStat & { logit_diff: number[][]; corrupted_logit_diff: number; cells: number };
  generate?: Record<"steered" | "unsteered", PyStat & { tokens: number[]; tokens_per_s: number }>;
}

export const REFERENCE_SCRIPT = path.join(ROOT, "bench", "reference", "torch_hooks.py");

/** Spawns the reference with `spec` (see the script's docstring); its log goes to our stderr unless quiet. */
export async function runReference(spec: Record<string, unknown>, quiet = false): Promise<ReferenceResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-bench-"));
  const specPath = path.join(dir, "spec.json");
  const outPath = path.join(dir, "out.json");
  fs.writeFileSync(specPath, JSON.stringify(spec));
  try {
    let stderr = "";
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(PYTHON, [REFERENCE_SCRIPT, specPath, outPath], { stdio: ["ignore", "inherit", quiet ? "pipe" : "inherit"] });
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("exit", resolve);
    });
    if (code !== 0 || !fs.existsSync(outPath)) {
      const last = stderr.trim().split("\n").slice(-3).join(" / ");
      throw new Error(`the PyTorch reference (${PYTHON} ${REFERENCE_SCRIPT}) exited with ${code}${last ? `: ${last}` : ""}`);
    }
    return JSON.parse(fs.readFileSync(outPath, "utf8")) as ReferenceResult;
  } finally {
    if (!process.env.INTROSPECT_BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

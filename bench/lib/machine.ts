// The machine a table was measured on, printed with every run.

import * as fs from "fs";
import * as os from "os";

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  loadAverage: number[];
  node: string;
  onnxruntime: string;
}

export function machine(): Machine {
  let ortVersion = "?";
  try {
    ortVersion = JSON.parse(fs.readFileSync(require.resolve("onnxruntime-node/package.json"), "utf8")).version;
  } catch {
    /* reported as "?" */
  }
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    onnxruntime: ortVersion,
  };
}

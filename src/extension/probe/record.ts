// For tests and the benchmark only: when INTROSPECT_PROBE_RECORD names a folder, the extension
// writes there what it posted to the probe panel (last-result.json, the ProbeResult as toJsonWire
// JSON, with the request) and, per probe, the times from command to rendered heatmap
// (timings.jsonl). Inert in normal use.
import * as fs from "fs";
import * as path from "path";
import type { ProbeParams } from "../../protocol/lsp";
import { type ProbeResult } from "../../protocol/probeData";
import { toJsonWire } from "../../protocol/wire";

/** performance.now() marks of one probe, from the command to the panel's first frame. */
export interface ProbeTiming {
  startedAt: number;
  chars: number;
  sentAt?: number;
  repliedAt?: number;
  decodedAt?: number;
  postedAt?: number;
  renderedAt?: number;
  probeId?: string;
  tokens?: number;
  /** Host: forward pass, and everything else of ProbeSession.start (tokenising, lens, analyses). */
  forwardMs?: number;
  analysisMs?: number;
  /** Webview: building the DOM and heatmaps until the next animation frame. */
  renderMs?: number;
}

export class ProbeRecorder {
  private constructor(private readonly dir: string) {}

  static fromEnv(): ProbeRecorder | undefined {
    const dir = process.env.INTROSPECT_PROBE_RECORD;
    if (!dir) return undefined;
    fs.mkdirSync(dir, { recursive: true });
    return new ProbeRecorder(dir);
  }

  result(params: ProbeParams, result: ProbeResult): void {
    this.write("last-result.json", JSON.stringify({ params, result: toJsonWire(result) }));
  }

  failure(message: string): void {
    this.write("last-failure.json", JSON.stringify({ message, at: Date.now() }));
  }

  timing(t: ProbeTiming): void {
    fs.appendFileSync(path.join(this.dir, "timings.jsonl"), JSON.stringify(t) + "\n");
  }

  /** Written to a temporary name first so a reader never sees half a file. */
  private write(name: string, text: string): void {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file + ".tmp", text);
    fs.renameSync(file + ".tmp", file);
  }
}

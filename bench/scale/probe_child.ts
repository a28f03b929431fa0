// Child process of the 1B bench: opens the model, then times the probe the panel asks for (one
// forward with the probe's captures, the layer heatmap and the logit lens of the first
// introspect.probe.lensTokens tokens, as the host's introspect/probe does; after a warm-up probe,
// which opens the probe's session as the host does at load), then the rest of the lens as the panel
// asks for it after its first frame (chunks of 64 columns), then a plain forward of the same tokens
// in the same process (the engine's session with every position's logits), and reports its peak
// resident memory (VmHWM) after the probe and after the fill. A fresh process per size and mode,
// because the peak never goes down.
//   node -r tsx/cjs bench/scale/probe_child.ts <model folder> <variant> <tokens> [now|before|all-logits]
// before: the probe as it was before the lens on demand, the output budget and the last-position
// head (every column's lens with the probe, every site exposed as a graph output whatever the pass
// fetches, the head applied to every position). all-logits: the probe as now but with the head
// applied to every position (the last-position head's before/after).

import * as fs from "fs";
import { ProbeSession, openModel } from "../../src/engine";
import { THREADS, passiveWaiting } from "../lib/ort";
import { LENS_TOKENS } from "./lensTokens";

function vmKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const [dir, variant, n, mode = "now"] = process.argv.slice(2);
  const before = mode === "before";
  const tokens = Number(n);
  // The bench's byte-level tokenizer has no merges: one printable byte is one token.
  const text = Array.from({ length: tokens }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join("");
  const t0 = process.hrtime.bigint();
  const model = await openModel(dir, {
    variant,
    intraOpThreads: THREADS,
    maxSessions: 2,
    // The probe's session is opened by the warm-up probe below, as the host opens it at load.
    warm: false,
    ...(before ? { outputBudgetBytes: Infinity } : {}),
    ...(passiveWaiting() ? { allowSpinning: false } : {}),
  });
  const openS = Number(process.hrtime.bigint() - t0) / 1e9;
  const openRss = vmKb("VmHWM") * 1024;
  const ids = Array.from(text, (c) => c.charCodeAt(0));
  const seconds = async (f: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  const opts = before
    ? { logits: "all" as const }
    : { lensTokens: LENS_TOKENS, ...(mode === "all-logits" ? { logits: "all" as const } : {}) };
  // Warm-up probe (full length up to 1,024 tokens; 128 beyond, where a probe takes minutes).
  const warmText = tokens > 1024 ? text.slice(0, 128) : text;
  await ProbeSession.start(model, warmText, { start: 0, end: warmText.length }, opts);
  let timing: { forwardMs: number; analysisMs: number } | undefined;
  let session: ProbeSession | undefined;
  const probe = await seconds(async () => {
    session = await ProbeSession.start(model, text, { start: 0, end: text.length }, opts);
    timing = session.result.timing;
  });
  const probeRss = vmKb("VmHWM") * 1024;
  // The rest of the lens, as the panel asks for it once the first frame is drawn.
  let fill = 0;
  const missing = session!.result.logitLens.computed ? tokens - LENS_TOKENS : 0;
  if (missing > 0)
    fill = await seconds(async () => {
      for (let c = LENS_TOKENS; c < session!.result.selection.end - session!.result.selection.start; c += 64)
        await session!.lens({ start: c, end: Math.min(c + 64, session!.result.selection.end - session!.result.selection.start) });
    });
  const peakRssWithFill = vmKb("VmHWM") * 1024;
  // The plain forward last (the engine's own session, every position's logits), so that its session
  // is not part of the probe's peak.
  await model.run({ ids: tokens > 1024 ? ids.slice(0, 128) : ids });
  const plain = await seconds(() => model.run({ ids }));
  const out = {
    tokens,
    variant,
    mode,
    openS,
    openRss,
    plain,
    probe,
    timing,
    peakRss: probeRss,
    fill,
    fillColumns: missing,
    peakRssWithFill,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
  await model.dispose();
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(String(e?.message ?? e) + "\n");
    process.exit(1);
  },
);

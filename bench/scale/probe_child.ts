// Child process of the 1B bench: opens the model, then times the probe the panel asks for (one
// forward with the probe's captures, the layer heatmap and the logit lens, as the host's
// introspect/probe does) against a plain forward of the same tokens in the same process, and
// reports its own peak resident memory (VmHWM). A fresh process per size, because the peak never
// goes down.
//   node -r tsx/cjs bench/scale/probe_child.ts <model folder> <variant> <tokens> [with-before]
// with-before: the probe is timed a second time with the lens as it was before (full logits per
// layer, reduced in JavaScript), in the same process.

import * as fs from "fs";
import { ProbeSession, openModel } from "../../src/engine";
import { THREADS, passiveWaiting } from "../lib/ort";

function vmKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(fs.readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : NaN;
}

async function main(): Promise<void> {
  const [dir, variant, n, mode] = process.argv.slice(2);
  const tokens = Number(n);
  // The bench's byte-level tokenizer has no merges: one printable byte is one token.
  const text = Array.from({ length: tokens }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join("");
  const t0 = process.hrtime.bigint();
  const model = await openModel(dir, {
    variant,
    intraOpThreads: THREADS,
    maxSessions: 1,
    ...(passiveWaiting() ? { allowSpinning: false } : {}),
  });
  const openS = Number(process.hrtime.bigint() - t0) / 1e9;
  const openRss = vmKb("VmHWM") * 1024;
  const ids = Array.from(text, (c) => c.charCodeAt(0));
  // The probe's own session (all sites as outputs) serves the plain forward too: fetch logits only.
  const seconds = async (f: () => Promise<unknown>) => {
    const t = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t) / 1e9;
  };
  await model.run({ ids: tokens > 1024 ? ids.slice(0, 128) : ids }); // warm-up (full length up to 1,024 tokens)
  const plain = await seconds(() => model.run({ ids }));
  let timing: { forwardMs: number; analysisMs: number } | undefined;
  const probe = await seconds(async () => {
    timing = (await ProbeSession.start(model, text, { start: 0, end: text.length })).result.timing;
  });
  const peakRss = vmKb("VmHWM") * 1024;
  let before: { probe: number; timing?: { forwardMs: number; analysisMs: number } } | undefined;
  if (mode === "with-before") {
    let t: typeof timing;
    const p = await seconds(async () => {
      t = (await ProbeSession.start(model, text, { start: 0, end: text.length }, { lensMode: "full" })).result.timing;
    });
    before = { probe: p, timing: t };
  }
  const out = { tokens, variant, openS, openRss, plain, probe, timing, peakRss, before, peakRssWithBefore: vmKb("VmHWM") * 1024 };
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

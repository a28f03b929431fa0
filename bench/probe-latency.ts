// npm run bench:probe [-- --repeats N] [--sizes 32,256,1024] [--model DIR --variant q4] [--spinning on|off] [--wire text] [--json FILE]
// Time from "Probe Selection" to the rendered heatmap, in a real VS Code (code-server + Chromium,
// the e2e harness) on demo-llama (or the model folder --model, e.g. .cache/bench/llama-1b with
// --variant q4), for selections of 32, 256 and 1024 tokens, as a ratio to a plain onnxruntime
// forward of the same tokens on the unmodified graph (timed in this process before VS Code starts and
// again beside it after each timed probe, once the panel's lens fill has ended; the ratio is to the
// forward beside VS Code; same thread count as the host: onnxruntime's default); and where the time
// goes: the forward pass, the rest of the host's work (tokenising, logit lens, analyses), the
// JSON-RPC transfer and decoding, and the panel (postMessage, DOM, heatmaps, first frame).
// The extension measures (INTROSPECT_PROBE_RECORD): the command handler's start to the panel's
// "rendered" message, all on the extension host's clock.
import * as fs from "fs";
import * as path from "path";
import { loadTokenizer, openModel, tokensInRange } from "../src/engine";
import type { ProbeTiming } from "../src/extension/probe/record";
import { REPO } from "../test/e2e/harness/codeServer";
import { startSession } from "../test/e2e/harness/session";
import { machine } from "./lib/machine";

interface Args {
  repeats: number;
  sizes: number[];
  model: string;
  variant: string;
  /** The host's onnxruntime threads spin (true) or sleep (false) between operators; unset: its default. */
  spinning?: boolean;
  /** Where the results go as JSON (default bench/results/probe-latency-<time>.json). */
  json?: string;
  /** "text": the host's tensors as base64 in JSON (INTROSPECT_HOST_WIRE=text), for a before/after; default bytes. */
  wire?: "text";
}

function parseArgs(argv: string[]): Args {
  const a: Args = { repeats: 3, sizes: [32, 256, 1024], model: path.join(REPO, "models/demo-llama"), variant: "" };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--repeats") a.repeats = Number(argv[++i]);
    else if (argv[i] === "--sizes") a.sizes = (argv[++i] ?? "").split(",").map(Number);
    else if (argv[i] === "--model") a.model = path.resolve(argv[++i] ?? "");
    else if (argv[i] === "--variant") a.variant = argv[++i] ?? "";
    else if (argv[i] === "--spinning") a.spinning = (argv[++i] ?? "") !== "off";
    else if (argv[i] === "--json") a.json = path.resolve(argv[++i] ?? "");
    else if (argv[i] === "--wire" && argv[i + 1] === "text") a.wire = argv[++i] as "text";
    else
      throw new Error(
        `unknown option ${argv[i]}; options: --repeats N --sizes 32,256,1024 --model DIR --variant NAME --spinning on|off --wire text --json FILE`,
      );
  }
  if (!(a.repeats >= 1) || a.sizes.some((n) => !(n >= 1))) throw new Error("--repeats and --sizes take positive numbers");
  return a;
}

// Plain English of the kind the demo model was trained on; repeated to reach 1024 tokens.
const PROMPTS = [
  "When Mary and John went to the store, John gave a drink to Mary.",
  "The capital of France is Paris, and the capital of Italy is Rome.",
  "After the meeting, Sarah and Tom walked to the park, and Sarah handed the book to Tom.",
  "The movie was wonderful: the acting was great and the music was beautiful.",
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(`[probe-bench] ${s}\n`);
  const model = await openModel(args.model, { warm: false, ...(args.variant ? { variant: args.variant } : {}) });
  const name = path.basename(args.model) + (args.variant ? ` ${args.variant}` : "");
  const tok = await loadTokenizer(model.resolved.folder);
  // Texts of exactly N selected tokens: the corpus repeated, cut after its N-th token.
  const corpus = PROMPTS.join(" ").repeat(40);
  const texts = new Map<number, { text: string; selected: number }>();
  for (const n of args.sizes) {
    const toks = tok.encode(corpus);
    const real = toks.filter((t) => t.span.end > t.span.start);
    if (real.length < n) throw new Error(`the corpus has only ${real.length} tokens`);
    const text = corpus.slice(0, real[n - 1].span.end);
    texts.set(n, { text, selected: tokensInRange(tok.encode(text), { start: 0, end: text.length }).length });
  }
  // The physical limit: onnxruntime's forward of the same ids on the unmodified graph, timed before
  // VS Code starts and again beside it (after each timed probe, once the panel's lens fill is done,
  // so both see the same background: code-server, Chromium, the idle model host).
  const plainMs = new Map<number, number>();
  const besideMs = new Map<number, number[]>();
  const onnx = model.resolved.onnxPath;
  await model.dispose();
  const ort = await import("onnxruntime-node");
  const plain = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: "all" });
  const feedsOf = new Map<number, Record<string, import("onnxruntime-node").Tensor>>();
  for (const n of args.sizes) {
    const ids = tok.encode(texts.get(n)!.text).map((t) => t.id);
    const feeds: Record<string, import("onnxruntime-node").Tensor> = {};
    const meta = plain.inputMetadata as unknown as { name: string; shape?: (number | string)[] }[];
    for (const name of plain.inputNames) {
      const big = (xs: number[]) => BigInt64Array.from(xs.map(BigInt));
      if (name === "input_ids") feeds[name] = new ort.Tensor("int64", big(ids), [1, ids.length]);
      else if (name === "attention_mask") feeds[name] = new ort.Tensor("int64", big(ids.map(() => 1)), [1, ids.length]);
      else if (name === "position_ids") feeds[name] = new ort.Tensor("int64", big(ids.map((_, i) => i)), [1, ids.length]);
      else {
        const shape = meta.find((m) => m.name === name)?.shape ?? [];
        const [h, d] = [shape[1], shape[3]].map((v) => (typeof v === "number" ? v : NaN));
        if (!(h > 0 && d > 0)) throw new Error(`the past input ${name} has no fixed heads and head size; the plain forward cannot be fed`);
        feeds[name] = new ort.Tensor("float32", new Float32Array(0), [1, h, 0, d]);
      }
    }
    feedsOf.set(n, feeds);
  }
  const plainOnce = async (n: number) => {
    const t0 = performance.now();
    await plain.run(feedsOf.get(n)!, ["logits"]);
    return performance.now() - t0;
  };
  for (const n of args.sizes) {
    const times: number[] = [];
    for (let r = 0; r < args.repeats + 1; r++) {
      const t = await plainOnce(n);
      if (r > 0) times.push(t);
    }
    plainMs.set(n, median(times));
    log(`${n} tokens: plain onnxruntime forward ${median(times).toFixed(0)} ms (before VS Code)`);
  }

  const record = path.join(REPO, ".test-output/bench-probe");
  fs.rmSync(record, { recursive: true, force: true });
  const s = await startSession(
    "probe-bench",
    {
      INTROSPECT_PROBE_RECORD: record,
      INTROSPECT_TRACE: "1",
      ...(args.spinning !== undefined ? { INTROSPECT_ALLOW_SPINNING: args.spinning ? "1" : "0" } : {}),
      ...(args.wire ? { INTROSPECT_HOST_WIRE: args.wire } : {}),
    },
    { workspaceSettings: { "introspect.model": args.model, ...(args.variant ? { "introspect.variant": args.variant } : {}) } },
  );
  const rows: Record<string, number | string>[] = [];
  /** Per size, every timed run's total and plain-beside milliseconds (the JSON's spread). */
  const samples: Record<number, { total: number[]; beside: number[]; forward: number[] }> = {};
  try {
    const { wb } = s;
    // Written before the model loads so that Quick Open's file index has them by then.
    for (const n of args.sizes) fs.writeFileSync(path.join(s.folder, `bench-${n}.txt`), texts.get(n)!.text);
    await wb.waitForStatus("Introspect", new RegExp(`Introspect: ${path.basename(args.model)}`), 600000);
    const timings = () =>
      fs.existsSync(path.join(record, "timings.jsonl"))
        ? fs
            .readFileSync(path.join(record, "timings.jsonl"), "utf8")
            .trim()
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as ProbeTiming)
        : [];
    for (const n of args.sizes) {
      const file = `bench-${n}.txt`;
      for (let attempt = 1; ; attempt++) {
        try {
          await wb.openFile(file);
          break;
        } catch (e) {
          if (attempt >= 3) throw e;
        }
      }
      const runs: ProbeTiming[] = [];
      // One extra run first: the first probe of a size also opens the engine model / warms caches.
      for (let r = 0; r < args.repeats + 1; r++) {
        const before = timings().length;
        await wb.activeEditor().locator(".view-lines").click();
        await wb.page.keyboard.press("Control+A");
        // The probe keybinding (package.json): ctrl+k alt+i.
        await wb.page.keyboard.press("Control+K");
        await wb.page.keyboard.press("Alt+I");
        const end = Date.now() + 900000;
        while (timings().length === before) {
          if (Date.now() > end) throw new Error(`no rendered probe for ${n} tokens within 900 s`);
          const failure = path.join(record, "last-failure.json");
          if (fs.existsSync(failure)) throw new Error(fs.readFileSync(failure, "utf8"));
          await wb.page.waitForTimeout(100);
        }
        const t = timings()[before];
        if (r > 0) runs.push(t);
        // The plain forward beside VS Code, once the panel has its whole lens (the host is idle again).
        const frame = await wb.webview("Introspect: Probe");
        const pending = frame.locator("[data-lens-pending]");
        const fillEnd = Date.now() + 900000;
        while ((await pending.count()) > 0 && !(await pending.first().evaluate((e) => (e as HTMLElement).hidden))) {
          if (Date.now() > fillEnd) throw new Error(`the lens fill of ${n} tokens did not end within 900 s`);
          await wb.page.waitForTimeout(250);
        }
        const beside = await plainOnce(n);
        if (r > 0) besideMs.set(n, [...(besideMs.get(n) ?? []), beside]);
        log(
          `${n} tokens, run ${r}: ${(t.renderedAt! - t.startedAt).toFixed(0)} ms${r === 0 ? " (warm-up)" : ""}; plain beside VS Code ${beside.toFixed(0)} ms`,
        );
      }
      await wb.screenshot(`bench probe ${n} tokens`);
      const total = median(runs.map((t) => t.renderedAt! - t.startedAt));
      const forward = median(runs.map((t) => t.forwardMs ?? 0));
      const hostRest = median(runs.map((t) => t.analysisMs ?? 0));
      const transfer = median(runs.map((t) => t.decodedAt! - t.sentAt! - (t.forwardMs ?? 0) - (t.analysisMs ?? 0)));
      const panel = median(runs.map((t) => t.renderedAt! - t.decodedAt!));
      const render = median(runs.map((t) => t.renderMs ?? 0));
      samples[n] = {
        total: runs.map((t) => t.renderedAt! - t.startedAt),
        beside: besideMs.get(n)!,
        forward: runs.map((t) => t.forwardMs ?? 0),
      };
      rows.push({
        tokens: runs[0].tokens ?? n,
        "total ms": Math.round(total),
        "forward ms": Math.round(forward),
        "host analyses ms": Math.round(hostRest),
        "transfer+decode ms": Math.round(transfer),
        "panel ms": Math.round(panel),
        "of which DOM+canvas ms": Math.round(render),
        "plain ORT before ms": Math.round(plainMs.get(n)!),
        "plain ORT beside ms": Math.round(median(besideMs.get(n)!)),
        "total / plain beside": (total / median(besideMs.get(n)!)).toFixed(2),
        "total / plain before": (total / plainMs.get(n)!).toFixed(2),
        "model share": `${((100 * forward) / total).toFixed(0)}%`,
        "rest share": `${((100 * (total - forward)) / total).toFixed(0)}%`,
      });
    }
  } finally {
    await s.close();
    await plain.release();
  }
  const m = machine();
  process.stdout.write(
    `\nProbe Selection -> rendered heatmap, ${name}, median of ${args.repeats} (after one warm-up), host threads spinning ${args.spinning === undefined ? "onnxruntime's default" : args.spinning ? "on" : "off"}, ${m.cpus} CPUs, load ${m.loadAverage[0]}\n`,
  );
  console.table(rows);
  process.stdout.write(
    "model = the forward pass with captures; host analyses = tokenising, logit lens (the model's own unembedding per layer), ranking;\n" +
      `transfer+decode = JSON-RPC round trip with tensors as ${args.wire === "text" ? "base64 text" : "bytes"} and decoding; ` +
      "panel = postMessage to the webview and back (through code-server and Chromium here), DOM and canvas to the first frame;\n" +
      "DOM+canvas = the page's own time from receiving the result to the next animation frame.\n",
  );
  const dir = path.join(REPO, "bench/results");
  fs.mkdirSync(dir, { recursive: true });
  const out = args.json ?? path.join(dir, `probe-latency-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(out, JSON.stringify({ machine: m, model: name, repeats: args.repeats, rows, samples }, null, 1));
  process.stdout.write(`written ${path.relative(REPO, out)}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);

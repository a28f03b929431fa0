import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../../src/cli/main";
import type { Io } from "../../../src/cli/common";
import { readSafetensors } from "../../../src/engine";
import { saveVector } from "../../../src/engine";
import { makeVector } from "../../../src/engine";
import { waitFor } from "../../waitFor";

const ROOT = path.join(__dirname, "..", "..", "..");
const TINY = path.join(ROOT, "test", "fixtures", "local", "tiny-llama");
const DEMO = path.join(ROOT, "models", "demo-llama");
const TOKENIZERS = path.join(ROOT, "test", "fixtures", "tokenizers");
const PY = "/usr/bin/python3";

interface Ran {
  code: number;
  out: string;
  err: string;
}

async function cli(args: string[], opts: { stdin?: string; cancelled?: boolean } = {}): Promise<Ran> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    stdin: async () => opts.stdin ?? "",
    cancel: { isCancellationRequested: opts.cancelled ?? false },
  };
  const code = await main(args, io);
  return { code, out, err };
}

interface ProbeJson {
  model: { id: string; numLayers: number; vocabSize: number };
  tokens: { index: number; id: number; piece: string; text: string; start: number; end: number }[];
  layerMap: { layers: { layer: number; sites: string[] }[]; other: string[] };
  captured: { site: string; dims: number[] }[];
  logitLens: { sites: string[]; k: number; layers: { layer: number; site: string; top: { id: number; text: string; p: number }[][] }[] };
  prediction: { id: number; text: string; p: number }[];
  out?: string;
}

describe("introspect CLI: usage and exit codes", () => {
  it("prints help listing the commands and exit codes", async () => {
    const r = await cli(["--help"]);
    assert.equal(r.code, 0);
    for (const c of ["probe", "generate", "patch", "tokenize", "faithfulness", "130", "--debug"]) assert.ok(r.out.includes(c), c);
    assert.equal((await cli([])).code, 1);
  });

  it("prints --help for each command with its options", async () => {
    for (const [cmd, opt] of [
      ["probe", "--sites"],
      ["generate", "--steer"],
      ["patch", "--corrupt"],
      ["tokenize", "--no-special"],
      ["faithfulness", "--root"],
    ]) {
      const r = await cli([cmd, "--help"]);
      assert.equal(r.code, 0, cmd);
      assert.ok(r.out.startsWith(`introspect ${cmd}`), r.out);
      assert.ok(r.out.includes(opt), `${cmd} help mentions ${opt}`);
    }
  });

  it("exits 1 for usage mistakes, with a pointer to --help", async () => {
    for (const args of [
      ["frobnicate"],
      ["probe", "--model", TINY],
      ["probe", "--model", TINY, "--text", "t1", "--bogus"],
      ["probe", "stray"],
      ["generate", "--model", TINY, "--text", "t1", "--max-tokens", "x"],
      ["probe", "--model", TINY, "--text", "t1", "--out", "x.bin"],
    ]) {
      const r = await cli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.err}`);
      assert.match(r.err, /^introspect: .*\nRun "introspect .*--help" for usage\.\n$/);
    }
  });

  it("exits 2 for model and input errors with one line and no stack", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-cli-"));
    try {
      fs.mkdirSync(path.join(tmp, "onnx"));
      fs.copyFileSync(path.join(TINY, "onnx", "model.onnx"), path.join(tmp, "onnx", "model.onnx"));
      fs.copyFileSync(path.join(TINY, "config.json"), path.join(tmp, "config.json"));
      const cases: [string[], RegExp][] = [
        [["probe", "--model", path.join(tmp, "nope"), "--text", "x"], /does not exist/],
        [
          ["probe", "--model", tmp, "--text", "t1"],
          /tokenizer\.json not found next to model\.onnx: set introspect\.model to the model folder/,
        ],
        [["probe", "--model", TINY, "--text", "t1", "--sites", "blocks.99.hook_resid_post"], /Unknown site blocks\.99\.hook_resid_post/],
        [["tokenize", "--model", TINY, "--text-file", path.join(tmp, "missing.txt")], /could not be read/],
      ];
      for (const [args, pattern] of cases) {
        const r = await cli(args);
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
        assert.match(r.err, pattern);
        assert.equal(r.err.trimEnd().split("\n").length, 1, r.err);
        assert.ok(!r.err.includes("    at "), "no stack trace");
      }
      const dbg = await cli(["probe", "--model", path.join(tmp, "nope"), "--text", "x", "--debug"]);
      assert.equal(dbg.code, 2);
      assert.ok(dbg.err.includes("    at "), "--debug shows the stack");
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("exits 130 when cancelled", async () => {
    const r = await cli(["probe", "--model", TINY, "--text", "t1 t2"], { cancelled: true });
    assert.equal(r.code, 130, r.err);
    assert.match(r.err, /cancelled/);
  });
});

describe("introspect tokenize", () => {
  it("prints ids, strings and offsets as JSON and as a table", async () => {
    const text = "héllo 👋 wörld";
    const r = await cli(["tokenize", "--model", path.join(TOKENIZERS, "qwen3-small"), "--text", text, "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { kind: string; tokens: { id: number; piece: string; start: number; end: number }[] };
    assert.equal(j.kind, "byte-level-bpe");
    assert.equal(j.tokens[0].start, 0);
    assert.equal(j.tokens[j.tokens.length - 1].end, text.length);
    const wave = j.tokens.filter((t) => text.slice(t.start, t.end).includes("👋"));
    assert.ok(wave.length >= 1);
    const t = await cli(["tokenize", "--model", path.join(TOKENIZERS, "bert-base-uncased"), "--text", "-"], { stdin: "Hello World" });
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^#\s+id\s+piece\s+text\s+start\s+end\n/);
    assert.match(t.out, /7592\s+"hello"\s+"hello"\s+0\s+5/);
    assert.match(t.out, /4 tokens \(wordpiece/);
  });
});

/** The checks the issue asks of `probe` on a model: run on the tiny fixture always, on demo-llama when present. */
function probeSuite(name: string, modelDir: string, text: string): void {
  describe(`introspect probe on ${name}`, function () {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-probe-"));
    let j: ProbeJson;
    const out = path.join(tmp, "probe.safetensors");
    before(async function () {
      if (!fs.existsSync(path.join(modelDir, "onnx"))) {
        console.log(`      (skipped: ${modelDir} does not exist yet)`);
        this.skip();
      }
      const r = await cli([
        "probe",
        "--model",
        modelDir,
        "--text",
        text,
        "--sites",
        "resid_post,blocks.0.mlp.hook_post,ln_final",
        "--out",
        out,
        "--json",
        "--top",
        "3",
      ]);
      assert.equal(r.code, 0, r.err);
      j = JSON.parse(r.out) as ProbeJson;
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("prints tokens with ids, strings and character offsets into the text", () => {
      assert.ok(j.tokens.length >= 2);
      let prev = 0;
      for (const t of j.tokens) {
        assert.ok(Number.isInteger(t.id) && t.id >= 0 && t.id < j.model.vocabSize);
        assert.ok(t.start >= prev && t.end >= t.start && t.end <= text.length, JSON.stringify(t));
        prev = t.start;
      }
      assert.equal(Math.max(...j.tokens.map((t) => t.end)), text.length);
    });

    it("prints the layer map and what was captured", () => {
      assert.equal(j.layerMap.layers.length, j.model.numLayers);
      for (const l of j.layerMap.layers) assert.ok(l.sites.includes(`blocks.${l.layer}.hook_resid_post`), JSON.stringify(l));
      const sites = j.captured.map((c) => c.site);
      assert.ok(sites.includes("blocks.0.mlp.hook_post") && sites.includes("ln_final.hook_normalized"));
      assert.equal(sites.filter((s) => s.endsWith("hook_resid_post")).length, j.model.numLayers);
      for (const c of j.captured) assert.equal(c.dims[0], j.tokens.length, c.site);
    });

    it("gives a logit lens whose last layer's top-1 is the model's own top-1 at every position", () => {
      const lens = j.logitLens;
      assert.equal(lens.k, 3);
      assert.equal(lens.layers.length, j.model.numLayers);
      const last = lens.layers[lens.layers.length - 1];
      assert.equal(last.site, `blocks.${j.model.numLayers - 1}.hook_resid_post`);
      assert.equal(last.top.length, j.tokens.length);
      last.top.forEach((cands, pos) => {
        assert.equal(cands.length, 3);
        assert.ok(cands[0].p >= cands[1].p && cands[1].p >= cands[2].p);
        assert.equal(cands[0].id, j.prediction[pos].id, `position ${pos}`);
        assert.ok(Math.abs(cands[0].p - j.prediction[pos].p) < 1e-4, `p at ${pos}`);
      });
    });

    it("writes --out that our reader opens: every captured site, logits and input ids", () => {
      const st = readSafetensors(out);
      for (const c of j.captured) assert.deepEqual(st.tensors.get(c.site)?.shape, c.dims, c.site);
      const logits = st.tensors.get("logits")!;
      assert.deepEqual(logits.shape, [j.tokens.length, j.model.vocabSize]);
      // The file's logits give the same top-1 as the JSON.
      const V = j.model.vocabSize;
      j.prediction.forEach((p, pos) => {
        const row = logits.data.subarray(pos * V, (pos + 1) * V) as Float32Array;
        assert.equal(row.indexOf(Math.max(...row)), p.id);
      });
      assert.deepEqual(
        [...(st.tensors.get("input_ids")!.data as BigInt64Array)].map(Number),
        j.tokens.map((t) => t.id),
      );
      assert.equal(st.metadata.model, j.model.id);
      assert.equal(st.metadata.text, text);
    });

    it("writes --out that Python reads with a hand-written header parser", function () {
      try {
        execFileSync(PY, ["-c", "import numpy"], { stdio: "ignore" });
      } catch {
        console.log(`      (skipped: ${PY} with numpy is not available)`);
        this.skip();
      }
      const py = JSON.parse(execFileSync(PY, [path.join(__dirname, "safetensors_py.py"), "read", out], { encoding: "utf8" }));
      assert.equal(py.__metadata__.text, text);
      for (const c of j.captured) assert.deepEqual(py[c.site].shape, c.dims);
      assert.equal(py.logits.dtype, "F32");
      assert.equal(py.input_ids.dtype, "I64");
    });
  });
}

probeSuite("tiny-llama (test fixture)", TINY, "t1 t2 t3 t4 t5");
probeSuite("demo-llama", DEMO, "The capital of France is Paris. Un café ☕ à 東京!");

describe("introspect probe table, generate and patch on tiny-llama", () => {
  it("prints a readable lens table ending with the model's row", async () => {
    const r = await cli(["probe", "--model", TINY, "--text", "t1 t2 t3"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^tiny-llama: LlamaForCausalLM, 2 layers, d_model 16/);
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines[lines.length - 4], /^logit lens\s+0:"t1"\s+1:"t2"\s+2:"t3"$/);
    assert.match(lines[lines.length - 1], /^model\s+"t\d+"\s+"t\d+"\s+"t\d+"$/);
    assert.equal(lines[lines.length - 1].replace(/^model\s+/, ""), lines[lines.length - 2].replace(/^layer 1\s+/, ""));
  });

  it("generates greedily: the first token is the probe's prediction at the last position", async () => {
    const probe = JSON.parse((await cli(["probe", "--model", TINY, "--text", "t1 t2 t3", "--json"])).out) as ProbeJson;
    const g = await cli(["generate", "--model", TINY, "--text", "t1 t2 t3", "--max-tokens", "4", "--json"]);
    assert.equal(g.code, 0, g.err);
    const j = JSON.parse(g.out) as { prompt: { ids: number[] }; tokens: { id: number }[]; text: string };
    assert.deepEqual(j.prompt.ids, [1, 2, 3]);
    assert.equal(j.tokens.length, 4);
    assert.equal(j.tokens[0].id, probe.prediction[2].id);
    const plain = await cli(["generate", "--model", TINY, "--text", "t1 t2 t3", "--max-tokens", "4"]);
    assert.equal(plain.out.trim(), j.text.trim());
  });

  it("generates with a steering vector file active at every step", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-steer-"));
    try {
      const file = path.join(tmp, "v.ivec");
      const data = Float32Array.from({ length: 16 }, (_, i) => (i % 2 ? 1 : -1) * (1 + i / 8));
      saveVector(file, makeVector({ name: "test", modelId: "tiny-llama", site: "blocks.0.hook_resid_post", data }));
      const args = ["generate", "--model", TINY, "--text", "t1 t2 t3", "--max-tokens", "6", "--json"];
      const plain = JSON.parse((await cli(args)).out) as { tokens: { id: number }[] };
      const r = await cli([...args, "--steer", file, "--alpha", "20"]);
      assert.equal(r.code, 0, r.err);
      const steered = JSON.parse(r.out) as { steer: { site: string; alpha: number }[]; tokens: { id: number }[] };
      assert.deepEqual(steered.steer, [{ name: "test", site: "blocks.0.hook_resid_post", alpha: 20 }]);
      assert.notDeepEqual(
        steered.tokens.map((t) => t.id),
        plain.tokens.map((t) => t.id),
      );
      const zero = JSON.parse((await cli([...args, "--steer", file, "--alpha", "0"])).out) as { tokens: { id: number }[] };
      assert.deepEqual(
        zero.tokens.map((t) => t.id),
        plain.tokens.map((t) => t.id),
      );
      assert.equal((await cli([...args, "--steer", path.join(tmp, "none.ivec")])).code, 2);
      assert.equal((await cli([...args, "--alpha", "2"])).code, 1);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("patches: the clean run restores fully at the last resid_pre of layer 0", async () => {
    const r = await cli([
      "patch",
      "--model",
      TINY,
      "--clean",
      "t1 t2 t3",
      "--corrupt",
      "t1 t9 t3",
      "--answer",
      "t16",
      "--wrong",
      "#5",
      "--sites",
      "resid_pre",
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { layers: number[]; positions: number[]; grids: Record<string, { normalised: number[][] }> };
    assert.deepEqual(j.layers, [0, 1]);
    assert.deepEqual(j.positions, [0, 1, 2]);
    const g = j.grids.hook_resid_pre.normalised;
    // Patching the changed token's residual before layer 0 makes the corrupted run the clean one.
    assert.ok(Math.abs(g[0][1] - 1) < 1e-4, JSON.stringify(g));
    assert.ok(Math.abs(g[0][0]) < 1e-4, JSON.stringify(g));
    const bad = await cli(["patch", "--model", TINY, "--clean", "t1", "--corrupt", "t2", "--answer", "t1 t2", "--wrong", "t3"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--answer "t1 t2" is 2 tokens/);
  });
});

describe("introspect as a process", () => {
  const tsxCli = path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs");
  const run = (args: string[]) =>
    spawnSync(process.execPath, [tsxCli, path.join(ROOT, "src", "cli", "main.ts"), ...args], {
      encoding: "utf8",
      cwd: ROOT,
      timeout: 120_000,
    });

  it("exits with the documented codes and prints JSON on stdout", () => {
    const ok = run(["probe", "--model", TINY, "--text", "t1 t2", "--json"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as ProbeJson).tokens.length, 2);
    const bad = run(["probe", "--model", "/nonexistent/model", "--text", "x"]);
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, "");
    assert.match(bad.stderr, /^introspect: No model at \/nonexistent\/model/);
  });

  it("runs under the glibc malloc settings the model host uses (it starts itself again with them)", () => {
    assert.match(run(["--version"]).stdout, /malloc settings on/);
    const env = { ...process.env, INTROSPECT_NO_MALLOC_TUNING: "1", GLIBC_TUNABLES: "" };
    const off = spawnSync(process.execPath, [tsxCli, path.join(ROOT, "src", "cli", "main.ts"), "--version"], {
      encoding: "utf8",
      cwd: ROOT,
      env,
    });
    assert.match(off.stdout, /malloc settings off/);
  });

  it("Ctrl-C (SIGINT to the process group, as a terminal sends it) cancels and exits 130", async () => {
    const { spawn } = await import("node:child_process");
    const p = spawn(
      process.execPath,
      [tsxCli, path.join(ROOT, "src", "cli", "main.ts"), "generate", "--model", TINY, "--text", "t1", "--max-tokens", "100000"],
      {
        cwd: ROOT,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    const exited = new Promise<number | null>((r) => p.on("exit", (c) => r(c)));
    p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    // Generating: the first tokens are out (100000 of them cannot be done before the signal lands).
    await Promise.race([
      waitFor("the first generated text", () => out.length > 0),
      exited.then((c) => assert.fail(`the CLI exited (${c}) before the signal: ${err}`)),
    ]);
    process.kill(-p.pid!, "SIGINT");
    assert.equal(await exited, 130);
  });
});

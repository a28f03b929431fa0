// The steering requests through the real model host over LSP (stdio) on demo-llama: build from
// the demo contrast block, stream a paired generation, supersede it with a new one, sweep,
// combine, and a GGUF export/import round trip with a clear message on a width mismatch.
import * as assert from "assert";
import { spawn, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { pathToFileURL } from "url";
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
} from "vscode-languageserver-protocol/node";
import { CancellationTokenSource } from "vscode-languageserver-protocol";
import { findBlock, parsePromptFile, toContrastSpec } from "../../../src/engine";
import type { ContrastBlock } from "../../../src/engine";
import { GgufType, writeGguf } from "../../../src/engine";
import {
  ConfigureRequest,
  SteerBuildRequest,
  SteerCombineRequest,
  SteerExportRequest,
  SteerGenerateRequest,
  SteerLayersRequest,
  SteerLoadRequest,
  SteerStepNotification,
  SteerSweepRequest,
  type SteerStep,
} from "../../../src/protocol/lsp";

const ROOT = path.join(__dirname, "../../..");
const MODEL = path.join(ROOT, "models/demo-llama");

describe("steering requests in the model host (LSP over stdio, demo-llama)", function () {
  this.timeout(120000);
  let host: ChildProcess;
  let conn: ProtocolConnection;
  const steps = new Map<number, SteerStep[]>();
  /** Run once, inside the notification handler, when generation genId's first step arrives. */
  const onFirstStep = new Map<number, () => void>();
  /**
   * A prompt and strength whose steered run never reaches the end-of-text token: uncancelled it
   * goes all 200 steps (checked below), so a cancel sent at its first step always lands mid-run.
   */
  const LONG = { prompt: "The movie was", alpha: -4, maxTokens: 200 };
  const SEEDED = { kind: "sample", seed: 1, temperature: 1 } as const;

  before(async function () {
    if (!fs.existsSync(path.join(MODEL, "onnx/model.onnx"))) this.skip();
    host = spawn(process.execPath, ["-r", "tsx/cjs", path.join(ROOT, "src/server/server.ts"), "--stdio"], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    conn = createProtocolConnection(new StreamMessageReader(host.stdout!), new StreamMessageWriter(host.stdin!));
    for (const n of ["window/logMessage", "introspect/status", "$/progress", "textDocument/publishDiagnostics"])
      conn.onNotification(n, () => undefined);
    conn.onNotification(SteerStepNotification.type, (n) => {
      (steps.get(n.genId) ?? steps.set(n.genId, []).get(n.genId)!).push(n.step);
      const first = onFirstStep.get(n.genId);
      onFirstStep.delete(n.genId);
      first?.();
    });
    for (const r of ["window/workDoneProgress/create", "workspace/codeLens/refresh", "workspace/inlayHint/refresh"])
      conn.onRequest(r, () => null);
    conn.onRequest("workspace/configuration", () => [{}]);
    conn.listen();
    const exited = new Promise<never>((_, reject) => host.once("exit", (code) => reject(new Error(`the model host exited (${code})`))));
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      conn.sendRequest("initialize", { processId: process.pid, rootUri: null, capabilities: { window: { workDoneProgress: true } } }),
    ]);
    await conn.sendNotification("initialized", {});
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: MODEL, variant: "" });
    assert.strictEqual(state.kind, "ready");
  });
  after(() => {
    conn?.dispose();
    host?.kill();
  });

  let id = "";
  it("builds the sentiment vector from the demo contrast block", async () => {
    const file = parsePromptFile(fs.readFileSync(path.join(ROOT, "demo/sentiment.introspect"), "utf8"));
    const spec = toContrastSpec(findBlock(file, "sentiment") as ContrastBlock);
    const uri = pathToFileURL(path.join(ROOT, "demo/sentiment.introspect")).toString();
    await conn.sendNotification("textDocument/didOpen", {
      textDocument: {
        uri,
        languageId: "introspect",
        version: 1,
        text: fs.readFileSync(path.join(ROOT, "demo/sentiment.introspect"), "utf8"),
      },
    });
    const [r] = await conn.sendRequest(SteerBuildRequest.type, { spec, source: "sentiment.introspect#sentiment", uri });
    const lenses = (await conn.sendRequest("textDocument/codeLens", { textDocument: { uri } })) as {
      command?: { title: string; arguments?: { vectorId?: string }[] };
    }[];
    const open = lenses.find((l) => l.command?.title === "Open in steering panel");
    assert.ok(open, `lenses: ${lenses.map((l) => l.command?.title).join(", ")}`);
    assert.strictEqual(open.command!.arguments![0].vectorId, r.vector.id);
    assert.strictEqual(r.vector.site, "blocks.2.hook_resid_post");
    assert.strictEqual(r.vector.dim, 128);
    assert.ok(Buffer.from(r.ivec, "base64").subarray(0, 4).toString() === "IVEC");
    id = r.vector.id;
  });

  it("a vector re-sent after a reload with builtFrom brings its block's “Open in steering panel” lens back", async () => {
    const text = fs.readFileSync(path.join(ROOT, "demo/sentiment.introspect"), "utf8");
    const uri = "file:///reloaded/sentiment.introspect";
    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "introspect", version: 1, text } });
    const titles = async () =>
      (
        (await conn.sendRequest("textDocument/codeLens", { textDocument: { uri } })) as {
          command?: { title: string; arguments?: { vectorId?: string }[] };
        }[]
      )
        .filter((l) => l.command?.title === "Open in steering panel")
        .map((l) => l.command!.arguments![0].vectorId);
    assert.deepStrictEqual(await titles(), [], "no lens before the vector is known for this file");
    const built = await conn.sendRequest(SteerCombineRequest.type, { name: "sentiment", parts: [{ id, coef: 1 }] });
    const r = await conn.sendRequest(SteerLoadRequest.type, {
      format: "ivec",
      base64: built.ivec,
      label: "sentiment",
      id: "restored-1",
      builtFrom: { uri, block: "sentiment" },
    });
    assert.strictEqual(r.vectors[0].vector.id, "restored-1");
    assert.deepStrictEqual(await titles(), ["restored-1"]);
  });

  it("a long run goes its full length when nothing cancels it (greedy and seeded sampling)", async () => {
    for (const [genId, sampling] of [
      [100, { kind: "greedy" }],
      [101, SEEDED],
    ] as const) {
      const r = await conn.sendRequest(SteerGenerateRequest.type, {
        genId,
        prompt: LONG.prompt,
        vectors: [{ id, alpha: LONG.alpha }],
        maxTokens: LONG.maxTokens,
        sampling,
      });
      assert.deepStrictEqual([r.stopped, r.steps], ["done", LONG.maxTokens], sampling.kind);
    }
  });

  it("streams a paired generation; a newer one supersedes the running one at once", async () => {
    // The newer request goes out from the handler of the first run's first step: no polling delay.
    const second = new Promise<{ stopped: string; steps: number; firstTokenMs?: number }>((resolve, reject) =>
      onFirstStep.set(1, () =>
        conn
          .sendRequest(SteerGenerateRequest.type, {
            genId: 2,
            prompt: "The food was",
            vectors: [{ id, alpha: -2 }],
            maxTokens: 12,
            sampling: { kind: "greedy" },
          })
          .then(resolve, reject),
      ),
    );
    const r1 = await conn.sendRequest(SteerGenerateRequest.type, {
      genId: 1,
      prompt: LONG.prompt,
      vectors: [{ id, alpha: LONG.alpha }],
      maxTokens: LONG.maxTokens,
      sampling: { kind: "greedy" },
    });
    assert.strictEqual(r1.stopped, "cancelled");
    assert.ok(r1.steps < LONG.maxTokens, `the superseded run went ${r1.steps} steps`);
    const r2 = await second;
    assert.strictEqual(r2.stopped, "done");
    const s2 = steps.get(2)!;
    assert.strictEqual(s2.length, r2.steps);
    assert.notStrictEqual(s2.map((s) => s.steered.text).join(""), s2.map((s) => s.unsteered.text).join(""));
    assert.ok(r2.firstTokenMs! > 0);
  });

  it("LSP cancellation stops a generation", async () => {
    const src = new CancellationTokenSource();
    // Cancelled from the handler of its first step, so the cancel is on its way at once.
    onFirstStep.set(3, () => src.cancel());
    const r = await conn.sendRequest(
      SteerGenerateRequest.type,
      { genId: 3, prompt: LONG.prompt, vectors: [{ id, alpha: LONG.alpha }], maxTokens: LONG.maxTokens, sampling: SEEDED },
      src.token,
    );
    // The host answers a cancelled generation with stopped: "cancelled" (the client ignores it).
    assert.strictEqual(r.stopped, "cancelled");
    assert.ok(steps.get(3)!.length < LONG.maxTokens, `ran ${steps.get(3)!.length} steps after the cancel`);
  });

  it("sweeps strengths x layers with a word score that rises with strength", async () => {
    const r = await conn.sendRequest(SteerSweepRequest.type, {
      vectorId: id,
      prompt: "The movie was",
      alphas: [-2, 0, 2],
      layers: [1, 2],
      score: { kind: "words", words: ["wonderful", "great", "good", "lovely", "excellent", "amazing", "fantastic"] },
      maxTokens: 3,
    });
    assert.strictEqual(r.scores.length, 6);
    assert.strictEqual(r.texts.length, 6);
    assert.ok(r.scores[3] < r.scores[4] && r.scores[4] < r.scores[5], `layer 2: ${r.scores.slice(3)}`);
  });

  it("negates, exports GGUF, imports it back, and refuses a GGUF of another width with a sentence", async () => {
    const neg = await conn.sendRequest(SteerCombineRequest.type, { name: "-sentiment", parts: [{ id, coef: -1 }] });
    assert.strictEqual(neg.vector.site, "blocks.2.hook_resid_post");
    const out = await conn.sendRequest(SteerExportRequest.type, { vectors: [{ id, alpha: 1.5 }] });
    const back = await conn.sendRequest(SteerLoadRequest.type, { format: "gguf", base64: out.base64, label: "x.gguf" });
    assert.strictEqual(back.vectors.length, 1);
    assert.strictEqual(back.vectors[0].vector.site, "blocks.2.hook_resid_post");
    const wrong = writeGguf(
      [["general.architecture", { type: GgufType.STRING, value: "controlvector" }]],
      [{ name: "direction.1", dims: [64], data: new Float32Array(64) }],
    );
    await assert.rejects(
      conn.sendRequest(SteerLoadRequest.type, { format: "gguf", base64: wrong.toString("base64"), label: "other.gguf" }),
      /64 values.*residual width of 128/,
    );
  });

  it("spreads a vector over layers with weights (same id, .ivec keeps them, GGUF exports each layer), and back", async () => {
    const weights = [
      { layer: 1, weight: 0.5 },
      { layer: 2, weight: 1 },
      { layer: 3, weight: 0.5 },
    ];
    const copy = await conn.sendRequest(SteerCombineRequest.type, { name: "spread", parts: [{ id, coef: 1 }] });
    const r = await conn.sendRequest(SteerLayersRequest.type, { id: copy.vector.id, weights: [...weights, { layer: 4, weight: 0 }] });
    assert.strictEqual(r.vector.id, copy.vector.id);
    assert.deepStrictEqual(r.vector.layerWeights, weights, "zero weights are dropped");
    const reloaded = await conn.sendRequest(SteerLoadRequest.type, { format: "ivec", base64: r.ivec, label: "spread.ivec" });
    assert.deepStrictEqual(reloaded.vectors[0].vector.layerWeights, weights);
    const gg = await conn.sendRequest(SteerExportRequest.type, { vectors: [{ id: r.vector.id, alpha: 2 }] });
    const back = await conn.sendRequest(SteerLoadRequest.type, { format: "gguf", base64: gg.base64, label: "spread.gguf" });
    assert.deepStrictEqual(
      back.vectors.map((v) => v.vector.site),
      ["blocks.1.hook_resid_post", "blocks.2.hook_resid_post", "blocks.3.hook_resid_post"],
    );
    // The spread vector steers differently from the plain one at the same strength.
    const text = async (genId: number, vid: string) => {
      const g = await conn.sendRequest(SteerGenerateRequest.type, {
        genId,
        prompt: "The food was",
        vectors: [{ id: vid, alpha: -3 }],
        maxTokens: 8,
        sampling: { kind: "greedy" },
      });
      assert.strictEqual(g.stopped, "done");
      return steps
        .get(genId)!
        .map((s) => [s.steered.id, s.kl.toFixed(5)].join(":"))
        .join(" ");
    };
    assert.notStrictEqual(await text(10, r.vector.id), await text(11, id));
    const plain = await conn.sendRequest(SteerLayersRequest.type, { id: r.vector.id, weights: null });
    assert.strictEqual(plain.vector.layerWeights, undefined);
    assert.strictEqual(await text(12, plain.vector.id), await text(13, id), "weights: null is the vector at its own layer again");
    await assert.rejects(
      conn.sendRequest(SteerLayersRequest.type, { id, weights: [{ layer: 9, weight: 1 }] }),
      /Layer 9 does not exist.*0-5/,
    );
    await assert.rejects(conn.sendRequest(SteerLayersRequest.type, { id, weights: [{ layer: 1, weight: 0 }] }), /Every layer weight is 0/);
  });
});

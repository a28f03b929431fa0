// The expert ranking through the model host (introspect/experts/rank and /effect) on demo-moe with
// demo/moe-topics.introspect: the ranking of the arithmetic contrast finds L4:E3 first, reports
// progress per prompt and can be cancelled; switching the top expert off lowers the + prompts'
// log-probability more than the control prompts', and both numbers equal the engine's.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CancellationTokenSource, type ProtocolConnection } from "vscode-languageserver-protocol/node";
import { expertContrast, loadTokenizer, metricEffect, openModel, parsePromptFile, type ContrastBlock } from "../../../src/engine";
import { ConfigureRequest } from "../../../src/protocol/lsp";
import { ExpertEffectRequest, ExpertRankProgress, ExpertRankRequest, type ExpertRankResult } from "../../../src/protocol/expertRanking";
import { fromWire } from "../../../src/protocol/wire";
import { startHost, type StartedHost } from "../helpers/host";

const ROOT = path.resolve(__dirname, "../../..");
const MODEL = path.join(ROOT, "models/demo-moe");
const SOURCE = fs.readFileSync(path.join(ROOT, "demo/moe-topics.introspect"), "utf8");
const BLOCK = "arithmetic-vs-rest";

describe("expert ranking requests (through the host, demo-moe)", function () {
  this.timeout(240000);
  let started: StartedHost | undefined;
  let conn: ProtocolConnection;
  const progress: { done: number; total: number }[] = [];

  before(async () => {
    started = await startHost();
    conn = started.conn;
    conn.onNotification(ExpertRankProgress.method, (p: { done: number; total: number }) => void progress.push(p));
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: MODEL, variant: "" });
    assert.strictEqual(state.kind, "ready");
  });
  after(() => started?.stop());

  it("ranks the block's experts (L4:E3 first), with one progress step per prompt, as the engine does", async () => {
    progress.length = 0;
    const r = fromWire<ExpertRankResult>(await conn.sendRequest(ExpertRankRequest.type, { source: SOURCE, block: BLOCK }));
    assert.strictEqual(r.count, "top1", "the block's own count");
    assert.deepStrictEqual([r.ranked[0].layer, r.ranked[0].expert], [4, 3]);
    assert.strictEqual(r.heat.length, r.layers.length * r.experts);
    const total = r.prompts.positive + r.prompts.baseline;
    await waitUntil(() => progress.length === total);
    assert.deepStrictEqual(
      progress.map((p) => p.done),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    // The engine on the same prompts.
    const model = await openModel(MODEL);
    const tok = await loadTokenizer(MODEL);
    const block = parsePromptFile(SOURCE).blocks.find((b) => b.name?.value === BLOCK) as ContrastBlock;
    const enc = (t: string) => tok.encode(t).map((x) => x.id);
    const direct = await expertContrast(
      model,
      block.positive.map((p) => enc(p.text)),
      block.negative.map((p) => enc(p.text)),
      { count: "top1" },
    );
    assert.deepStrictEqual(
      r.ranked.map((s) => [s.layer, s.expert, s.diff]),
      direct.ranked.map((s) => [s.layer, s.expert, s.diff]),
    );
    const off = [{ kind: "off" as const, layer: 4, expert: 3 }];
    const e = await conn.sendRequest(ExpertEffectRequest.type, { source: SOURCE, block: BLOCK, experts: off, metric: "logprob" });
    const pos = await metricEffect(
      model,
      block.positive.map((p) => enc(p.text)),
      { kind: "logprob" },
      off,
    );
    const neg = await metricEffect(
      model,
      block.negative.map((p) => enc(p.text)),
      { kind: "logprob" },
      off,
    );
    console.log(
      `      L4:E3 off: + prompts log-prob ${e.positive.before.toFixed(3)} -> ${e.positive.after.toFixed(3)} (${e.positive.change.toFixed(3)}); control ${e.control.before.toFixed(3)} -> ${e.control.after.toFixed(3)} (${e.control.change.toFixed(3)})`,
    );
    assert.ok(Math.abs(e.positive.change - pos.change) < 1e-9 && Math.abs(e.control.change - neg.change) < 1e-9);
    assert.ok(e.positive.change < e.control.change, "arithmetic falls more than the control prompts");
    assert.ok(e.positive.change < -0.1, `+ change ${e.positive.change}`);
    await model.dispose();
  });

  it("refuses a block that is not a contrast and an expert the model lacks, each with one sentence; a cancelled ranking says so", async () => {
    await assert.rejects(conn.sendRequest(ExpertRankRequest.type, { source: SOURCE, block: "arithmetic" }), (e: Error) =>
      /no contrast block named “arithmetic”/.test(e.message),
    );
    await assert.rejects(
      conn.sendRequest(ExpertEffectRequest.type, {
        source: SOURCE,
        block: BLOCK,
        experts: [{ kind: "off", layer: 4, expert: 7 }],
        metric: "kl",
      }),
      (e: Error) => /Expert 7 does not exist in layer 4 of demo-moe/.test(e.message) && !e.message.includes("\n"),
    );
    const cts = new CancellationTokenSource();
    progress.length = 0;
    const pending = conn.sendRequest(ExpertRankRequest.type, { source: SOURCE, block: BLOCK }, cts.token);
    // Cancelled as soon as it is sent: on a fast machine a ranking of a few prompts can finish
    // between its first progress report and a cancel sent then.
    cts.cancel();
    await assert.rejects(pending, (e: Error) => /Cancel/i.test(e.message));
    assert.ok(progress.length < 15, `stopped early (${progress.length} prompts)`);
  });
});

async function waitUntil(ok: () => boolean, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

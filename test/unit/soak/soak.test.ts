// Soak tests on the real model host (LSP over stdio, demo-llama): 1,000 slider moves in 60 s (each
// a steering generation that supersedes the one before, as the panel sends them) and 200 probes in
// a row. The host's resident memory is read from /proc and printed; it must stay flat once warm.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { ProtocolConnection } from "vscode-languageserver-protocol/node";
import { startHost, type StartedHost } from "../helpers/host";
import { findBlock, parsePromptFile, toContrastSpec } from "../../../src/engine";
import type { ContrastBlock } from "../../../src/engine";
import { ConfigureRequest, ProbeRequest, SteerBuildRequest, SteerGenerateRequest } from "../../../src/protocol/lsp";

const ROOT = path.join(__dirname, "../../..");
const MODEL = path.join(ROOT, "models/demo-llama");

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

describe("soak: the model host over many slider moves and probes", function () {
  this.timeout(300000);
  let started: StartedHost | undefined;
  let conn: ProtocolConnection;
  const hostPid = () => started!.host.pid!;

  before(async () => {
    started = await startHost();
    conn = started.conn;
    const state = await conn.sendRequest(ConfigureRequest.type, { modelPath: MODEL, variant: "" });
    assert.strictEqual(state.kind, "ready");
  });
  after(() => started?.stop());

  it("1,000 slider moves in 60 s: every superseded generation stops, the last one completes, RSS stays flat", async () => {
    const text = fs.readFileSync(path.join(ROOT, "demo/sentiment.introspect"), "utf8");
    const uri = "file:///soak/sentiment.introspect";
    await conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "introspect", version: 1, text } });
    const spec = toContrastSpec(findBlock(parsePromptFile(text), "sentiment") as ContrastBlock);
    const [built] = await conn.sendRequest(SteerBuildRequest.type, { spec, source: "soak#sentiment", uri });
    const id = built.vector.id;
    const moves = 1000;
    const rss: number[] = [];
    const results: Array<Promise<{ stopped: string }>> = [];
    const t0 = Date.now();
    for (let i = 0; i < moves; i++) {
      // One move every 60 ms, as a slider dragged for a minute sends them.
      const due = t0 + i * 60;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const alpha = 4 * Math.sin(i / 25);
      results.push(
        conn.sendRequest(SteerGenerateRequest.type, {
          genId: i + 1,
          prompt: "The food was",
          vectors: [{ id, alpha }],
          maxTokens: 24,
          sampling: { kind: "greedy" },
        }),
      );
      if (i % 100 === 99) rss.push(rssMiB(hostPid()));
    }
    const all = await Promise.all(results);
    const seconds = (Date.now() - t0) / 1000;
    const done = all.filter((r) => r.stopped === "done").length;
    console.log(
      `      ${moves} moves in ${seconds.toFixed(1)} s; ${done} ran to the end; host RSS MiB every 100 moves: ${rss.map((x) => x.toFixed(0)).join(" ")}`,
    );
    assert.strictEqual(all[all.length - 1].stopped, "done", "the last move's generation completes");
    assert.ok(all.slice(0, -1).every((r) => r.stopped === "done" || r.stopped === "cancelled"));
    // Flat once warm: from the 200th move to the end, growth under 48 MiB.
    const growth = Math.max(...rss.slice(2)) - rss[1];
    assert.ok(growth < 48, `host RSS grew by ${growth.toFixed(0)} MiB over ${moves - 200} moves`);
  });

  it("200 probes in a row: host RSS stays flat", async () => {
    const text = "When Mary and John went to the store, John gave a drink to";
    const rss: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 200; i++) {
      const r = (await conn.sendRequest(ProbeRequest.type, {
        uri: "file:///soak/probe.txt",
        text: `${text} ${i}`,
        selection: { start: 0, end: text.length },
        maxTokens: 1024,
      })) as { id?: string };
      assert.ok(r && typeof r === "object");
      if (i % 20 === 19) rss.push(rssMiB(hostPid()));
    }
    console.log(
      `      200 probes in ${((Date.now() - t0) / 1000).toFixed(1)} s; host RSS MiB every 20: ${rss.map((x) => x.toFixed(0)).join(" ")}`,
    );
    const growth = Math.max(...rss.slice(2)) - rss[1];
    assert.ok(growth < 48, `host RSS grew by ${growth.toFixed(0)} MiB over 160 probes`);
  });
});

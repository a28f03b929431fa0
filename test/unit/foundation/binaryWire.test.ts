// The model host as the extension starts it (Node IPC with V8 serialisation, --node-ipc) sends its
// results' typed arrays as bytes, not base64 text; on stdio it sends tagged text. Both decode to the
// same ProbeResult, bit for bit.
import * as assert from "assert";
import * as path from "path";
import { ConfigureRequest, ProbeAttentionRequest, ProbeRequest, type ProbeParams } from "../../../src/protocol/lsp";
import { fromWire } from "../../../src/protocol/wire";
import type { ProbeResult } from "../../../src/protocol/probeData";
import { startHost, type StartedHost } from "../helpers/host";

const ROOT = path.resolve(__dirname, "../../..");
const MODEL = path.join(ROOT, "models/demo-llama");
const TEXT = "When Mary and John went to the store, John gave a drink to Mary.";
const PARAMS: ProbeParams = {
  uri: "untitled:wire",
  text: TEXT,
  selection: { start: 0, end: TEXT.length },
  attention: { layer: 1, head: 0 },
};

/** Typed arrays and base64 tags found anywhere in a raw response. */
function census(v: unknown, found = { typed: 0, tags: 0 }): { typed: number; tags: number } {
  if (ArrayBuffer.isView(v)) found.typed++;
  else if (Array.isArray(v)) for (const x of v) census(x, found);
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith("$b64")) found.tags++;
      census(x, found);
    }
  }
  return found;
}

/** Every typed array of a decoded value as bytes, in key order, with its path. */
function bytesOf(v: unknown, at = "", out: [string, number[]][] = []): [string, number[]][] {
  if (ArrayBuffer.isView(v)) out.push([`${at}:${v.constructor.name}`, [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)]]);
  else if (Array.isArray(v)) v.forEach((x, i) => bytesOf(x, `${at}[${i}]`, out));
  else if (v && typeof v === "object") for (const k of Object.keys(v).sort()) bytesOf((v as Record<string, unknown>)[k], `${at}.${k}`, out);
  return out;
}

describe("binary wire: the host's typed arrays cross the extension's IPC channel as bytes", function () {
  this.timeout(180000);
  const hosts: Record<"ipc" | "stdio", StartedHost | undefined> = { ipc: undefined, stdio: undefined };

  before(async () => {
    for (const channel of ["ipc", "stdio"] as const) {
      hosts[channel] = await startHost({}, channel);
      const state = await hosts[channel].conn.sendRequest(ConfigureRequest.type, { modelPath: MODEL, variant: "" });
      assert.strictEqual(state.kind, "ready", `${channel}: ${JSON.stringify(state)}`);
    }
  });
  after(() => {
    hosts.ipc?.stop();
    hosts.stdio?.stop();
  });

  it("a probe over IPC arrives with typed arrays and no base64; over stdio with tags only; both decode alike", async () => {
    const rawIpc = await hosts.ipc!.conn.sendRequest(ProbeRequest.type, PARAMS);
    const rawStdio = await hosts.stdio!.conn.sendRequest(ProbeRequest.type, PARAMS);
    const ipc = census(rawIpc);
    const stdio = census(rawStdio);
    assert.ok(ipc.typed >= 5 && ipc.tags === 0, `IPC: ${JSON.stringify(ipc)}`);
    assert.ok(stdio.tags === ipc.typed && stdio.typed === 0, `stdio: ${JSON.stringify(stdio)} against IPC ${JSON.stringify(ipc)}`);
    const a = fromWire<ProbeResult>(rawIpc);
    const b = fromWire<ProbeResult>(rawStdio);
    assert.ok(a.metrics.residNorm.data instanceof Float32Array && a.nextTokenIds instanceof Int32Array);
    assert.strictEqual(a.tokens.length, b.tokens.length);
    assert.deepStrictEqual(
      a.tokens.map((t) => t.text),
      b.tokens.map((t) => t.text),
    );
    const [bytesA, bytesB] = [bytesOf({ ...a, id: "", timing: undefined }), bytesOf({ ...b, id: "", timing: undefined })];
    assert.deepStrictEqual(
      bytesA.map(([p]) => p),
      bytesB.map(([p]) => p),
    );
    for (let i = 0; i < bytesA.length; i++) assert.deepStrictEqual(bytesA[i][1], bytesB[i][1], bytesA[i][0]);
    // Each decoded array owns its buffer (none is a view into the IPC message).
    for (const m of Object.values(a.metrics)) assert.strictEqual(m.data.buffer.byteLength, m.data.byteLength);

    const attIpc = await hosts.ipc!.conn.sendRequest(ProbeAttentionRequest.type, { probeId: a.id!, layer: 0, head: 1 });
    const attStdio = await hosts.stdio!.conn.sendRequest(ProbeAttentionRequest.type, { probeId: b.id!, layer: 0, head: 1 });
    assert.ok(census(attIpc).typed >= 1 && census(attIpc).tags === 0);
    assert.deepStrictEqual(bytesOf(fromWire(attIpc)), bytesOf(fromWire(attStdio)));
  });
});

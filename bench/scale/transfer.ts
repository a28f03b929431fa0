// The "transfer" figure: what crossing from the model host to the extension costs, with the host's
// typed arrays as bytes (Node IPC, V8 serialisation: what the extension starts now) against base64
// in JSON (Node IPC, JSON serialisation: the channel before). Two real hosts (src/server/server.ts)
// on the same model, asked the same things in alternating rounds:
// - a probe at 1,024 tokens: client wall time (request to decoded result) minus the host's own
//   forward and analysis time (ProbeResult.timing), i.e. encoding, the pipe and decoding;
// - the Heads view of one layer: its 32 patterns of 1,024 x 1,024, one request per head as the panel
//   asks them, after the layer's capture is cached in the host (so the time is slicing + transfer).

import { ConfigureRequest, ProbeAttentionRequest, ProbeRequest, type ProbeParams } from "../../src/protocol/lsp";
import type { ProbeResult } from "../../src/protocol/probeData";
import { fromWire } from "../../src/protocol/wire";
import { startHost, type StartedHost } from "../../test/unit/helpers/host";
import { sec } from "../figures/figure";
import { statOf, type Stat } from "../lib/stats";
import { notMeasured, ratioRow, type Row } from "../lib/table";
import { LENS_TOKENS } from "./lensTokens";
import type { Ctx1b } from "./run1b";

const CHANNELS = ["ipc", "ipc-text"] as const;
type Channel = (typeof CHANNELS)[number];
const report = { kind: "report" } as const;

/** Bytes of every typed array in a decoded value. */
function tensorBytes(v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (Array.isArray(v)) return v.reduce((s: number, x) => s + tensorBytes(x), 0);
  if (v && typeof v === "object") return Object.values(v).reduce((s: number, x) => s + tensorBytes(x), 0);
  return 0;
}

export async function transferRows(ctx: Ctx1b, tokens = 1024, variant = "q4"): Promise<Row[]> {
  const probeFig = `probe result host -> extension (encode, pipe, decode), ${variant}, ${tokens} tok: bytes / base64 JSON`;
  const headsFig = (heads: number | string) =>
    `one layer's ${heads} head patterns (the Heads view), ${variant}, ${tokens} tok: bytes / base64 JSON`;
  // The bench tokenizer: one printable byte is one token (plus BOS).
  const text = Array.from({ length: tokens }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join("");
  // As the panel asks: the lens of the first LENS_TOKENS selected tokens with the result.
  const params: ProbeParams = { uri: "untitled:bench", text, selection: { start: 0, end: text.length }, lensTokens: LENS_TOKENS };
  const hosts = new Map<Channel, StartedHost>();
  try {
    for (const c of CHANNELS) {
      const h = await startHost({}, c);
      hosts.set(c, h);
      const state = await h.conn.sendRequest(ConfigureRequest.type, { modelPath: ctx.model.dir, variant });
      if (state.kind !== "ready") throw new Error(`the ${c} host did not load the model: ${JSON.stringify(state)}`);
    }
    const probeMs = new Map<Channel, number[]>(CHANNELS.map((c) => [c, []]));
    const headsMs = new Map<Channel, number[]>(CHANNELS.map((c) => [c, []]));
    let probeBytes = 0;
    let headBytes = 0;
    let heads = 0;
    const layer = Math.floor(ctx.model.layers / 2);
    const rounds = ctx.repeats(true) + 1; // the first round warms both hosts' sessions and is dropped
    for (let r = 0; r < rounds; r++) {
      for (let j = 0; j < CHANNELS.length; j++) {
        const c = CHANNELS[(r + j) % CHANNELS.length];
        const conn = hosts.get(c)!.conn;
        let t = performance.now();
        const result = fromWire<ProbeResult>(await conn.sendRequest(ProbeRequest.type, params));
        const wall = performance.now() - t;
        const host = (result.timing?.forwardMs ?? 0) + (result.timing?.analysisMs ?? 0);
        probeBytes = tensorBytes(result);
        heads = result.model.numHeads ?? 0;
        // The layer's capture (one forward) happens on its first head; the timed requests come after.
        await conn.sendRequest(ProbeAttentionRequest.type, { probeId: result.id!, layer, head: 0, queries: "all" });
        t = performance.now();
        let b = 0;
        for (let h = 0; h < heads; h++)
          b += tensorBytes(
            fromWire(await conn.sendRequest(ProbeAttentionRequest.type, { probeId: result.id!, layer, head: h, queries: "all" })),
          );
        const headsWall = performance.now() - t;
        headBytes = b;
        ctx.log(
          `transfer ${c} round ${r}: probe ${wall.toFixed(0)} ms (host ${host.toFixed(0)} ms), ${heads} heads ${headsWall.toFixed(0)} ms`,
        );
        if (r > 0) {
          probeMs.get(c)!.push(Math.max(0, wall - host));
          headsMs.get(c)!.push(headsWall);
        }
      }
    }
    const s = (m: Map<Channel, number[]>, c: Channel): Stat => statOf(m.get(c)!.map((x) => x / 1000));
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB of tensors`;
    return [
      ratioRow(probeFig, sec("bytes", s(probeMs, "ipc")), sec("base64", s(probeMs, "ipc-text")), report, mib(probeBytes)),
      ratioRow(headsFig(heads), sec("bytes", s(headsMs, "ipc")), sec("base64", s(headsMs, "ipc-text")), report, mib(headBytes)),
    ];
  } catch (e) {
    const why = `the transfer figure failed: ${(e as Error).message}`;
    return [notMeasured(probeFig, report, why), notMeasured(headsFig("all"), report, why)];
  } finally {
    for (const h of hosts.values()) h.stop();
  }
}

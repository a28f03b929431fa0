import * as assert from "assert";
import { fromWire, toWire } from "../../../src/protocol/wire";
import { answerRequest, RequestClient, type RequestMessage, type ResponseMessage } from "../../../src/protocol/webview";
import type { ModelInfoResult } from "../../../src/protocol/lsp";

describe("protocol", () => {
  it("round-trips float32 and int32 tensors through JSON-RPC's wire form, bit for bit", () => {
    const data = new Float32Array([0, -1.5, 3.25, Number.NaN, 1e-30, -Infinity]);
    const ints = new Int32Array([7, -3, 2 ** 31 - 1]);
    const wire = toWire({ t: { dims: [2, 3], data }, ints });
    const back = fromWire(JSON.parse(JSON.stringify(wire)) as typeof wire);
    assert.deepStrictEqual(back.t.dims, [2, 3]);
    assert.ok(back.t.data instanceof Float32Array && back.ints instanceof Int32Array);
    assert.deepStrictEqual(new Uint8Array(back.t.data.buffer), new Uint8Array(data.buffer));
    assert.deepStrictEqual([...back.ints], [...ints]);
  });

  it("encodes a view into a larger buffer without its neighbours", () => {
    const big = new Float32Array([9, 1, 2, 9]);
    const wire = toWire({ data: big.subarray(1, 3) });
    const back = fromWire(JSON.parse(JSON.stringify(wire)) as typeof wire);
    assert.deepStrictEqual([...back.data], [1, 2]);
  });

  it("matches responses to requests, errors included", async () => {
    const info = { ortVersion: "1.30.0" } as ModelInfoResult;
    let fail = false;
    const handlers = {
      "introspect/modelInfo": async () => {
        if (fail) throw new Error("The model host is not running.");
        return info;
      },
    };
    const responses: ResponseMessage[] = [];
    const client = new RequestClient((m: RequestMessage) => void answerRequest(m, handlers, (r) => responses.push(r)));
    const p1 = client.request("introspect/modelInfo", {});
    await new Promise((r) => setImmediate(r));
    fail = true;
    const p2 = client.request("introspect/modelInfo", {});
    await new Promise((r) => setImmediate(r));
    // Deliver out of order: the ids must still match.
    for (const r of responses.reverse()) assert.ok(client.handleResponse(r));
    assert.strictEqual((await p1).ortVersion, "1.30.0");
    await assert.rejects(p2, /The model host is not running\./);
    assert.strictEqual(client.handleResponse({ type: "response", id: 999, ok: true, result: 1 }), false);
  });

  it("answers an unknown method with an error instead of silence", async () => {
    const out: ResponseMessage[] = [];
    await answerRequest({ type: "request", id: 7, method: "introspect/modelInfo", params: {} }, {}, (r) => out.push(r));
    assert.deepStrictEqual(out, [{ type: "response", id: 7, ok: false, error: "No handler for introspect/modelInfo." }]);
  });
});

import * as assert from "assert";
import * as v8 from "v8";
import { fromWire, toJsonWire, toWire, useBinaryWire, withTextFallback } from "../../../src/protocol/wire";
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

  it("on a binary channel leaves typed arrays as they are; JSON text still gets tags; fromWire reads both", () => {
    const data = new Float32Array([1, -2, 3]);
    const value = { t: { dims: [3], data }, n: Number.NaN };
    useBinaryWire(true);
    try {
      const wire = toWire(value) as unknown as typeof value;
      assert.strictEqual(wire.t.data, data, "no copy, no text on the binary channel");
      const text = JSON.stringify(toJsonWire(value));
      assert.ok(text.includes('"$b64f32"') && !text.includes('"0":'), text);
      const fromText = fromWire(JSON.parse(text) as ReturnType<typeof toJsonWire<typeof value>>);
      assert.deepStrictEqual([...fromText.t.data], [1, -2, 3]);
    } finally {
      useBinaryWire(false);
    }
    assert.ok(JSON.stringify(toWire(value)).includes('"$b64f32"'), "text again once the channel is not binary");
  });

  it("gives a typed array that arrived as a view into a message's buffer a buffer of its own", () => {
    const message = new ArrayBuffer(64);
    const view = new Float32Array(message, 8, 3);
    view.set([4, 5, 6]);
    const whole = new Int32Array([1, 2]);
    const back = fromWire({ a: view, b: whole, list: [view] } as never) as { a: Float32Array; b: Int32Array; list: Float32Array[] };
    assert.ok(back.a instanceof Float32Array && back.list[0] instanceof Float32Array);
    assert.deepStrictEqual([...back.a], [4, 5, 6]);
    assert.strictEqual(back.a.buffer.byteLength, 12, "only the view's bytes");
    assert.notStrictEqual(back.a.buffer, message);
    assert.strictEqual(back.b, whole, "an array that owns its buffer is kept as it is");
  });

  it("sends a message V8 cannot serialise as JSON text with tagged arrays instead of failing", () => {
    const sent: unknown[] = [];
    const send = withTextFallback((m: unknown) => {
      v8.serialize(m); // what Node's advanced IPC serialisation does first; throws on a function
      sent.push(m);
      return true;
    });
    const data = new Float32Array([1.5, 2]);
    assert.strictEqual(send({ id: 1, result: { data } }), true);
    assert.strictEqual((sent[0] as { result: { data: Float32Array } }).result.data, data);
    assert.strictEqual(send({ id: 2, result: { data, f: () => 1 } }), true);
    const second = sent[1] as { id: number; result: Record<string, unknown> };
    assert.deepStrictEqual(Object.keys(second.result), ["data"], "the function is dropped, as JSON drops it");
    assert.deepStrictEqual([...fromWire<{ data: Float32Array }>(second.result as never).data], [1.5, 2]);
    assert.throws(
      () =>
        withTextFallback(() => {
          throw new Error("pipe closed");
        })({}),
      /pipe closed/,
    );
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

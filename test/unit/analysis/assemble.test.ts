import * as assert from "assert";
import { makeFixture, sampleTexts } from "../../webview/fixture";
import { type ProbeResult } from "../../../src/protocol/probeData";
import { fromWire, toWire } from "../../../src/protocol/wire";

describe("analysis/assembleProbeResult", () => {
  it("packs metrics as [layers, selected tokens] with consistent shapes", () => {
    const r = makeFixture({ texts: sampleTexts(12), selection: { start: 4, end: 12 }, layers: 5, experts: 6 });
    assert.strictEqual(r.layerCount, 5);
    assert.strictEqual(r.tokens.filter((t) => t.selected).length, 8);
    for (const m of Object.values(r.metrics)) {
      assert.deepStrictEqual(m.dims, [5, 8]);
      assert.strictEqual(m.data.length, 40);
    }
    assert.deepStrictEqual(r.logitLens.ids.dims, [5, 8, 5]);
    // Last selected token is the end of the text: no next token, so its probability is NaN.
    assert.strictEqual(r.nextTokenIds[7], -1);
    assert.ok(Number.isNaN(r.metrics.nextTokenProb.data[7]));
    assert.ok(!Number.isNaN(r.metrics.nextTokenProb.data[6]));
    // Top-5 probabilities are sorted and each row's top id has a decoded text.
    const p = r.logitLens.probs.data;
    assert.ok(p[0] >= p[1] && p[1] >= p[4]);
    assert.ok(r.logitLens.ids.data[0] in r.logitLens.vocab);
    assert.deepStrictEqual(r.neurons!.values.dims, [16, 12]);
    assert.deepStrictEqual(r.moe!.usage.dims, [5, 6]);
    // Each layer's usage sums to tokens x k.
    for (let l = 0; l < 5; l++)
      assert.strictEqual(
        r.moe!.usage.data.slice(l * 6, l * 6 + 6).reduce((a, b) => a + b, 0),
        16,
      );
    // The planted massive dim (3, token 0) is flagged from layer 2 on.
    assert.ok(r.massive.some((m) => m.layer === 2 && m.dim === 3 && m.tokens.includes(0)));
    assert.ok(!r.massive.some((m) => m.layer < 2));
    assert.strictEqual(r.attention!.kind, "pattern");
  });

  it("survives the JSON-RPC wire encoding bit for bit", () => {
    const r = makeFixture({ texts: sampleTexts(6), layers: 2 });
    const back = fromWire<ProbeResult>(JSON.parse(JSON.stringify(toWire(r))));
    assert.ok(back.metrics.residNorm.data instanceof Float32Array);
    assert.deepStrictEqual(Array.from(back.metrics.residNorm.data), Array.from(r.metrics.residNorm.data));
    assert.ok(back.logitLens.ids.data instanceof Int32Array);
    assert.deepStrictEqual(back.tokens, r.tokens);
  });

  it("reports a fused attention as unavailable with its reason", () => {
    const r = makeFixture({ texts: sampleTexts(4), layers: 2, attention: "fused" });
    assert.strictEqual(r.attention!.kind, "unavailable");
    assert.strictEqual(r.moe, undefined);
  });
});

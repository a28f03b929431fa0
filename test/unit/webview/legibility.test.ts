// Pure parts of the legibility views: the lens grid's cell text, one token's routing grid, and
// Model Info's layer x site map (checked against the bundled models' own site lists).
import * as assert from "assert";
import * as path from "path";
import { openModel } from "../../../src/engine";
import type { MoeData } from "../../../src/protocol/probeData";
import { shortKind, siteMap } from "../../../webview/info/siteTable";
import { routingGrid } from "../../../webview/probe/expertGrid";
import { truncate } from "../../../webview/probe/lensGrid";

const ROOT = path.resolve(__dirname, "../../..");

describe("webview legibility helpers", function () {
  this.timeout(60000);

  it("cuts a cell's token to 8 characters, counting characters, not UTF-16 units", () => {
    assert.strictEqual(truncate("·the"), "·the");
    assert.strictEqual(truncate("12345678"), "12345678");
    assert.strictEqual(truncate("123456789"), "1234567…");
    assert.strictEqual(truncate("😀😀😀😀😀😀😀😀😀"), "😀😀😀😀😀😀😀…");
  });

  it("spreads one token's top-k routing over a layer x expert grid, blank where not chosen", () => {
    // 2 layers, 3 tokens, k = 2, 4 experts.
    const experts = Int32Array.from([0, 1, 2, 3, 1, 0, /* layer 1 */ 3, 2, 0, 1, 2, 3]);
    const probs = Float32Array.from([0.6, 0.3, 0.5, 0.4, 0.7, 0.2, 0.8, 0.1, 0.55, 0.45, 0.9, 0.05]);
    const moe = {
      numExperts: 4,
      k: 2,
      experts: { dims: [2, 3, 2], data: experts },
      probs: { dims: [2, 3, 2], data: probs },
      usage: { dims: [2, 4], data: new Float32Array(8) },
    } as unknown as MoeData;
    const g = routingGrid(moe, 2, 3, 1);
    assert.deepStrictEqual(
      Array.from(g).map((v) => (Number.isNaN(v) ? null : Number(v.toFixed(2)))),
      [null, null, 0.5, 0.4, 0.55, 0.45, null, null],
    );
  });

  for (const name of ["demo-llama", "demo-moe"]) {
    it(`maps ${name}'s sites to layers and kinds in the order data flows`, async () => {
      const model = await openModel(path.join(ROOT, "models", name));
      try {
        const m = siteMap(model.info.sites, model.info.numLayers);
        assert.strictEqual(m.has.length, model.info.numLayers);
        const perLayer = m.has.reduce((a, h) => a + h.size, 0);
        assert.strictEqual(perLayer + m.other.length, model.info.sites.length, "every site is placed once");
        assert.strictEqual(m.kinds[0], "hook_resid_pre");
        assert.strictEqual(m.kinds[m.kinds.length - 1], "hook_resid_post");
        assert.ok(m.kinds.indexOf("attn.hook_pattern") < m.kinds.indexOf("hook_attn_out"));
        assert.ok(m.kinds.includes(name === "demo-moe" ? "moe.hook_router_logits" : "mlp.hook_post"));
        assert.deepStrictEqual(m.other, ["ln_final.hook_normalized"]);
        assert.strictEqual(shortKind("attn.hook_pattern"), "pattern");
        assert.strictEqual(shortKind("hook_resid_mid"), "resid_mid");
      } finally {
        await model.dispose();
      }
    });
  }
});

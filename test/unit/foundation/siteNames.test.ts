// Site short names have one table (SITE_SHORT_NAMES in src/engine/types.ts). The patching UI's
// list (src/protocol/patchData.ts) stays outside the engine so the extension runs no engine code;
// this checks it names every kind as the table does, so the two cannot drift apart.
import * as assert from "assert";
import { RESIDUAL_SHORT_NAMES, SITE_SHORT_NAMES } from "../../../src/engine";
import { PATCH_SITES, shortSite, siteKindOf } from "../../../src/protocol/patchData";

describe("site short names", () => {
  it("the patching UI's short names are the engine table's, for every patchable kind", () => {
    // The residual and branch outputs, and on mixture-of-experts models the routing decision.
    assert.deepStrictEqual(PATCH_SITES.map((s) => s.short).sort(), [...RESIDUAL_SHORT_NAMES, "router_logits"].sort());
    for (const s of PATCH_SITES) {
      assert.strictEqual(SITE_SHORT_NAMES[s.short as keyof typeof SITE_SHORT_NAMES], s.kind, s.short);
      assert.strictEqual(shortSite(s.kind), s.short);
      assert.strictEqual(siteKindOf(s.short), s.kind);
      assert.strictEqual(siteKindOf(`blocks.3.${s.kind}`), s.kind);
    }
    assert.strictEqual(siteKindOf("mlp_post"), undefined, "MLP activations are not patched layer by layer");
  });
});

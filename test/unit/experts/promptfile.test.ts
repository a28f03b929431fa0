// `experts` lines in prompt files: parsed with ranges, bad words get one diagnostic each, the
// TextMate grammar colours them, and they become interventions the engine checks and applies.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel } from "../../../src/engine";
import { parsePromptFile } from "../../../src/engine";
import { interventionsFromFile } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");

describe("prompt files: experts lines", () => {
  it("reads off, force (with positions), bias and topk lines, top level and in options blocks", () => {
    const pf = parsePromptFile(
      "model demo-moe\nexperts off L3:E5 L4:E1\nexperts force L1:E2@4 L1:E0@7-9 l2:e1\noptions\n  experts bias L2:E0=1.5 L2:E3=-2e-1\nexperts topk L1=1\n",
    );
    assert.deepStrictEqual(pf.diagnostics, []);
    assert.deepStrictEqual(
      pf.options.experts!.map((x) => x.value),
      [
        { kind: "off", layer: 3, expert: 5 },
        { kind: "off", layer: 4, expert: 1 },
        { kind: "force", layer: 1, expert: 2, positions: [4] },
        { kind: "force", layer: 1, expert: 0, positions: [7, 8, 9] },
        { kind: "force", layer: 2, expert: 1 },
        { kind: "bias", layer: 2, expert: 0, value: 1.5 },
        { kind: "bias", layer: 2, expert: 3, value: -0.2 },
        { kind: "topk", layer: 1, k: 1 },
      ],
    );
    const r = pf.options.experts![1].range;
    assert.deepStrictEqual([r.start.line, r.start.character, r.end.character], [1, 18, 23]);
  });

  it("gives one diagnostic per bad word and keeps the good ones", () => {
    const pf = parsePromptFile(
      "experts of L1:E2\nexperts off L1 L2:E1@3 L0:E1\nexperts topk L1=0\nexperts bias L1:E1=x\nexperts force L1:E1@5-2\nexperts\n",
    );
    assert.deepStrictEqual(
      pf.diagnostics.map((d) => [d.range.start.line, d.code, d.message]),
      [
        [0, "bad-value", "Unknown expert action 'of': use off, force, bias or topk."],
        [1, "bad-value", "'L1' is not an expert for 'off': write it as L3:E5."],
        [1, "bad-value", "'L2:E1@3' is not an expert for 'off': write it as L3:E5."],
        [2, "bad-value", "'L1=0' is not an expert for 'topk': write it as L1=1."],
        [3, "bad-value", "'L1:E1=x' is not an expert for 'bias': write it as L2:E0=1.5."],
        [4, "bad-value", "Positions 5-2 are not a range from low to high (at most 4096)."],
        [5, "missing-value", "'experts' needs an action and experts, e.g. `experts off L3:E5`."],
      ],
    );
    assert.deepStrictEqual(
      pf.options.experts!.map((x) => x.value),
      [{ kind: "off", layer: 0, expert: 1 }],
    );
  });

  it("become engine interventions: biases of a layer join into one vector; the engine refuses what the model lacks", async function () {
    this.timeout(120000);
    const pf = parsePromptFile("experts off L4:E3\nexperts bias L2:E0=1.5 L2:E3=-1\nexperts force L1:E2@0-2\n");
    const list = interventionsFromFile(
      pf.options.experts!.map((x) => x.value),
      4,
    );
    assert.deepStrictEqual(list, [
      { kind: "off", layer: 4, expert: 3 },
      { kind: "bias", layer: 2, values: [1.5, 0, 0, -1] },
      { kind: "force", layer: 1, expert: 2, positions: [0, 1, 2] },
    ]);
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-experts-"));
    const m = await openModel(path.join(ROOT, "models/demo-moe"), { cacheDir: cache, intraOpThreads: 1 });
    try {
      const ids = [324, 788, 308, 998, 18];
      const a = await m.run({ ids });
      const b = await m.run({ ids, experts: list });
      let d = 0;
      for (let i = 0; i < a.logits.data.length; i++) d = Math.max(d, Math.abs(a.logits.data[i] - b.logits.data[i]));
      assert.ok(d > 1e-3, `the interventions change the logits (max |d| ${d})`);
      const bad = interventionsFromFile(
        parsePromptFile("experts off L4:E9\n").options.experts!.map((x) => x.value),
        4,
      );
      await assert.rejects(
        m.run({ ids, experts: bad }),
        /^IntrospectError: Expert 9 does not exist in layer 4 of demo-moe: it has experts 0\.\.3\.$/,
      );
      await assert.rejects(
        m.run({ ids, experts: [{ kind: "off", layer: 7, expert: 0 }] }),
        /Layer 7 of demo-moe has no router \(its MLP is dense or the layer does not exist\); its MoE layers are 0, 1, 2, 3, 4, 5\./,
      );
      await assert.rejects(
        m.run({ ids, experts: [{ kind: "topk", layer: 1, k: 5 }] }),
        /Top-k for layer 1 must be a whole number from 1 to 4/,
      );
    } finally {
      await m.dispose();
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});

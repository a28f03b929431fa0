// The expert ranking (MoTE): hand-computed statistics, then demo-moe with the demo prompt file's
// arithmetic contrast. tools/models/README.md measured that layer 4's expert 3 takes 78 % of arithmetic
// tokens as their first choice; the ranking must find it first, and switching it off must lower the
// log-probability of held-out arithmetic more than that of held-out prose.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";
import { parsePromptFile, type ContrastBlock } from "../../../src/engine";
import { expertContrast, metricEffect, normalCdf, rankExperts, topOff } from "../../../src/engine/experts/contrast";

const ROOT = path.resolve(__dirname, "../../..");

describe("expert contrast: statistics", () => {
  it("ranks by the difference of routing shares, with a pooled two-proportion z-test", () => {
    // One layer, two experts: expert 0 gets 8 of 10 positive tokens and 2 of 10 baseline tokens.
    const r = rankExperts([3], 2, Float64Array.from([8, 2]), 10, Float64Array.from([2, 8]), 10);
    assert.strictEqual(r.ranked[0].expert, 0);
    assert.strictEqual(r.ranked[0].layer, 3);
    assert.ok(Math.abs(r.ranked[0].diff - 0.6) < 1e-12);
    // pooled p = 0.5, se = sqrt(0.25 * 0.2) = 0.2236; z = 0.6 / 0.2236 = 2.683
    assert.ok(Math.abs(r.ranked[0].z - 2.6833) < 1e-3, String(r.ranked[0].z));
    assert.ok(Math.abs(r.ranked[0].p - 0.00729) < 2e-4, String(r.ranked[0].p));
    assert.ok(Math.abs(r.ranked[1].diff + 0.6) < 1e-12);
    assert.deepStrictEqual(
      [...r.heat].map((x) => +x.toFixed(6)),
      [0.6, -0.6],
    );
    assert.deepStrictEqual(topOff(r, 1), [{ kind: "off", layer: 3, expert: 0 }]);
  });
  it("normal CDF", () => {
    assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-7);
    assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
    assert.ok(Math.abs(normalCdf(-1) - 0.158655) < 1e-6);
  });
});

describe("expert contrast on demo-moe", function () {
  this.timeout(300000);
  let model: LoadedModel;
  let tok: TextTokenizer;
  let cache: string;
  const enc = (t: string) => tok.encode(t).map((x) => x.id);
  before(async () => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-experts-"));
    model = await openModel(path.join(ROOT, "models/demo-moe"), { cacheDir: cache, intraOpThreads: 1 });
    tok = await loadTokenizer(path.join(ROOT, "models/demo-moe"));
  });
  after(async () => {
    await model?.dispose();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("finds layer 4's arithmetic expert first from demo/moe-topics.introspect, and switching it off hurts arithmetic more than prose", async () => {
    const pf = parsePromptFile(fs.readFileSync(path.join(ROOT, "demo/moe-topics.introspect"), "utf8"));
    assert.deepStrictEqual(pf.diagnostics, []);
    const block = pf.blocks.find((b) => b.kind === "contrast" && b.name?.value === "arithmetic-vs-rest") as ContrastBlock;
    assert.ok(block, "the demo file has the arithmetic-vs-rest contrast");
    assert.strictEqual(block.count?.value, "top1");
    const pos = block.positive.map((p) => enc(p.text));
    const neg = block.negative.map((p) => enc(p.text));
    const top1 = await expertContrast(model, pos, neg, { count: block.count!.value });
    const first = top1.ranked[0];
    console.log(
      `      top-1 counting: first L${first.layer}:E${first.expert} ${(100 * first.positive).toFixed(0)} % of arithmetic tokens vs ${(100 * first.baseline).toFixed(0)} % (z ${first.z.toFixed(1)}, p ${first.p.toExponential(1)})`,
    );
    assert.deepStrictEqual([first.layer, first.expert], [4, 3]);
    assert.ok(first.p < 0.01, `p = ${first.p}`);
    // MoTE's top-k activation frequency, for the record: measured, not asserted to rank the same.
    const topk = await expertContrast(model, pos, neg, { count: "topk" });
    const at = topk.ranked.findIndex((s) => s.layer === 4 && s.expert === 3);
    console.log(
      `      top-k counting: first L${topk.ranked[0].layer}:E${topk.ranked[0].expert} (diff ${topk.ranked[0].diff.toFixed(2)}); L4:E3 ranks ${at + 1} (diff ${topk.ranked[at].diff.toFixed(2)})`,
    );

    // Held-out prompts: none of these lines is in the prompt file.
    const arithmetic = [
      "12 + 30 = 42\n7 - 2 = 5",
      "21 + 16 = 37\n50 - 25 = 25",
      "3 + 4 = 7\n60 - 31 = 29",
      "14 + 14 = 28\n39 - 8 = 31",
    ].map(enc);
    const prose = [
      "Anna told Tom a story about the river.",
      "Every evening Leo reads a book at the farm.",
      "The library near the park was quiet in the morning.",
      "Mary walked to the shop and bought some bread.",
    ].map(enc);
    const off = topOff(top1, 1);
    const a = await metricEffect(model, arithmetic, { kind: "logprob" }, off);
    const p = await metricEffect(model, prose, { kind: "logprob" }, off);
    console.log(
      `      L4:E3 off: arithmetic mean log-prob ${a.before.toFixed(3)} -> ${a.after.toFixed(3)} (${a.change.toFixed(3)}); prose ${p.before.toFixed(3)} -> ${p.after.toFixed(3)} (${p.change.toFixed(3)})`,
    );
    assert.ok(a.change < -0.3, `arithmetic log-prob change ${a.change}`);
    assert.ok(Math.abs(p.change) < 0.1, `prose log-prob change ${p.change}`);
    assert.ok(a.change < p.change, "arithmetic falls more than prose");
    // KL from the unmodified model is larger on arithmetic too.
    const ka = await metricEffect(model, arithmetic, { kind: "kl" }, off);
    const kp = await metricEffect(model, prose, { kind: "kl" }, off);
    console.log(`      KL(unmodified || L4:E3 off): arithmetic ${ka.after.toFixed(4)}, prose ${kp.after.toFixed(4)}`);
    assert.ok(ka.after > kp.after);
  });
});

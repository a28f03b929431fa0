// Head scores on demo-llama: on a repeated random-token sequence the induction heads are layer 1's
// (all four heads, about 0.8 each, every other head under 0.05) and layer 0 head 2 is a
// previous-token head (about 0.95). The patterns come from the engine; the scores from
// webview/probe/headScores.ts, cross-checked against the textbook diagonal (the weight of query i
// on key i - n + 1 in the second copy of an n-token sequence).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { AUTO_SUMMARY_MS, headScores, summaryPlan } from "../../../webview/probe/headScores";

const MODEL = path.resolve(__dirname, "../../../models/demo-llama/onnx/model.onnx");
const HALF = 40;

describe("head scores (demo-llama, repeated random tokens)", function () {
  this.timeout(120000);
  let model: LoadedModel;
  const ids: number[] = [];
  const scores: { layer: number; head: number; induction: number; prevToken: number; entropy: number; diagonal: number }[] = [];

  before(async function () {
    if (!fs.existsSync(MODEL)) this.skip();
    model = await openModel(MODEL, { intraOpThreads: 1 });
    let s = 12345;
    const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const V = Number(model.resolved.config.vocab_size);
    // Distinct random tokens, so that only the second copy repeats.
    const drawn = new Set<number>();
    while (drawn.size < HALF) drawn.add(100 + Math.floor(rand() * (V - 200)));
    const half = [...drawn];
    ids.push(1, ...half, ...half);
    const L = model.info.numLayers;
    const sites = Array.from({ length: L }, (_, l) => `blocks.${l}.attn.hook_pattern` as const);
    const { captures } = await model.run({ ids, capture: [...sites] });
    for (let l = 0; l < L; l++) {
      const t = captures.get(sites[l])!;
      const T = t.dims[t.dims.length - 1];
      const H = t.dims[t.dims.length - 3];
      for (let h = 0; h < H; h++) {
        const data = (t.data as Float32Array).subarray(h * T * T, (h + 1) * T * T);
        // Textbook: in the second copy (positions 1+HALF …), the token after the earlier occurrence is HALF - 1 back.
        let d = 0;
        for (let i = 1 + HALF; i < T; i++) d += data[i * T + i - HALF + 1];
        scores.push({ layer: l, head: h, ...headScores({ data, q: T, keys: T, start: 0 }, ids), diagonal: d / HALF });
      }
    }
    console.log(
      scores
        .map(
          (x) =>
            `      L${x.layer}H${x.head} induction ${x.induction.toFixed(3)} prev ${x.prevToken.toFixed(3)} entropy ${x.entropy.toFixed(2)}`,
        )
        .join("\n"),
    );
  });
  after(() => model?.dispose());

  it("the induction score equals the textbook diagonal on a repeated sequence", () => {
    assert.strictEqual(new Set(ids.slice(1, 1 + HALF)).size, HALF, "the first copy has no repeats");
    for (const x of scores) assert.ok(Math.abs(x.induction - x.diagonal) < 1e-6, `L${x.layer}H${x.head}: ${x.induction} vs ${x.diagonal}`);
  });

  it("layer 1's heads are the induction heads: the four highest, each above 0.5, every other head below 0.1", () => {
    const ranked = [...scores].sort((a, b) => b.induction - a.induction);
    assert.deepStrictEqual(
      ranked
        .slice(0, 4)
        .map((x) => `L${x.layer}H${x.head}`)
        .sort(),
      ["L1H0", "L1H1", "L1H2", "L1H3"],
    );
    for (const x of ranked.slice(0, 4)) assert.ok(x.induction > 0.5, `L${x.layer}H${x.head} ${x.induction}`);
    for (const x of ranked.slice(4)) assert.ok(x.induction < 0.1, `L${x.layer}H${x.head} ${x.induction}`);
  });

  it("layer 0 head 2 is the previous-token head", () => {
    const top = [...scores].sort((a, b) => b.prevToken - a.prevToken)[0];
    assert.deepStrictEqual([top.layer, top.head], [0, 2]);
    assert.ok(top.prevToken > 0.8, String(top.prevToken));
  });
});

describe("head x layer summary: on its own only when quick", () => {
  it("runs by itself when the probe's pass times the layers is within the limit, and waits for a click otherwise", () => {
    const small = summaryPlan({ layerCount: 2, timing: { forwardMs: 20, analysisMs: 5 } });
    assert.deepStrictEqual(small, { passes: 2, estimateMs: 40, auto: true });
    // 1B at 1,024 tokens: 16 layers of a 28 s pass.
    const big = summaryPlan({ layerCount: 16, timing: { forwardMs: 28000, analysisMs: 40000 } });
    assert.strictEqual(big.auto, false);
    assert.strictEqual(big.estimateMs, 16 * 28000);
    const edge = summaryPlan({ layerCount: 10, timing: { forwardMs: AUTO_SUMMARY_MS / 10 + 1, analysisMs: 0 } });
    assert.strictEqual(edge.auto, false, "just over the limit waits");
    // A result without its pass's time (an old saved one): the cost is unknown, so it waits.
    assert.strictEqual(summaryPlan({ layerCount: 2 }).auto, false);
  });
});

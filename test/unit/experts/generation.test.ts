// Side-by-side generation with expert interventions on demo-moe: the unmodified run and the run
// with layer 4's arithmetic expert off, greedy; the intervened side equals greedy decoding by full
// forward passes with the same interventions, and the key/value-cache decoder equals full recompute
// when experts are forced at chosen positions (positions count from the prompt's first token).
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine";
import { generate, generatePaired } from "../../../src/engine";
import { modelDecoderFactory } from "../../../src/engine";
import type { ExpertIntervention } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");

async function greedyFull(m: LoadedModel, ids: number[], experts: ExpertIntervention[], n: number): Promise<number[]> {
  const seq = [...ids];
  for (let s = 0; s < n; s++) {
    const { logits } = await m.run({ ids: seq, experts });
    const V = logits.dims[1];
    const row = logits.data.subarray((seq.length - 1) * V);
    let best = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    seq.push(best);
  }
  return seq.slice(ids.length);
}

describe("generation with expert interventions", function () {
  this.timeout(300000);
  let m: LoadedModel;
  let tok: TextTokenizer;
  let cache: string;
  before(async () => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-experts-"));
    m = await openModel(path.join(ROOT, "models/demo-moe"), { cacheDir: cache, intraOpThreads: 1 });
    tok = await loadTokenizer(path.join(ROOT, "models/demo-moe"));
  });
  after(async () => {
    await m?.dispose();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it("pairs the unmodified run with the run whose arithmetic expert is off", async () => {
    const prompt = tok.encode("17 + 25 = 42\n8 - 3 = 5\n30 + 12 =").map((t) => t.id);
    const experts: ExpertIntervention[] = [{ kind: "off", layer: 4, expert: 3 }];
    const make = modelDecoderFactory(m, { prepareExperts: [4] });
    const steps = [];
    for await (const s of generatePaired(make, prompt, { maxTokens: 8, steer: new Map(), experts })) steps.push(s);
    const u = steps.map((s) => s.unsteered.id);
    const e = steps.map((s) => s.steered.id);
    console.log(`      unmodified: ${JSON.stringify(tok.decode(u))}  L4:E3 off: ${JSON.stringify(tok.decode(e))}`);
    assert.deepStrictEqual(u, await greedyFull(m, prompt, [], 8));
    assert.deepStrictEqual(e, await greedyFull(m, prompt, experts, 8));
    assert.notDeepStrictEqual(e, u, "switching the arithmetic expert off changes the continuation");
    assert.ok(steps.some((s) => s.kl > 0.01));
  });

  it("the key/value-cache decoder equals full recompute with forced experts at chosen positions", async () => {
    assert.ok(m.info.hasKvCache);
    const prompt = tok.encode("Mary lives near the park. Every").map((t) => t.id);
    const experts: ExpertIntervention[] = [
      { kind: "force", layer: 2, expert: 1, positions: [1, 3, prompt.length + 1] },
      { kind: "bias", layer: 0, values: [0.5, -1, 0, 2] },
      { kind: "topk", layer: 5, k: 1 },
    ];
    const run = async (useKvCache: boolean) => {
      const ids: number[] = [];
      for await (const t of generate(modelDecoderFactory(m, { useKvCache }), prompt, { maxTokens: 6, experts })) ids.push(t.id);
      return ids;
    };
    const kv = await run(true);
    assert.deepStrictEqual(kv, await run(false));
    assert.deepStrictEqual(kv, await greedyFull(m, prompt, experts, 6));
  });
});

// Budgets with sentences: more tokens than the model has positions, generation past the context,
// attention scores that would not fit in memory. Each is refused (or cut) with a sentence that says
// what and why, never an onnxruntime allocation error.
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { runCli as cli } from "../helpers/host";
import { openModel, IntrospectError } from "../../../src/engine";
import { generate } from "../../../src/engine";
import { modelDecoderFactory } from "../../../src/engine";

const ROOT = path.join(__dirname, "..", "..", "..");
const DEMO = path.join(ROOT, "models", "demo-llama");
const ZOO_LLAMA = path.join(ROOT, "test", "fixtures", "zoo", "llama-torchscript");

describe("budgets: positions, generation length and attention memory", function () {
  this.timeout(120000);

  it("a prompt longer than the model's positions gets a sentence (CLI exit 2), also at 50,000 tokens", async () => {
    for (const words of [300, 50000]) {
      const r = await cli(["probe", "--model", DEMO, "--text", "the ".repeat(words)]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /has 256 positions \(config\.json max_position_embeddings\)/);
      assert.doesNotMatch(r.err, /Gather|allocate|onnxruntime/);
    }
  });

  it("generation asked to run past the context is cut to it, with a note", async () => {
    const r = await cli(["generate", "--model", DEMO, "--text", "the ".repeat(240), "--max-tokens", "100000", "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /--max-tokens 100000 cut to \d+: the prompt has \d+ tokens and the model has 256 positions/);
    const m = await openModel(ZOO_LLAMA);
    try {
      const make = modelDecoderFactory(m);
      const prompt = Array.from({ length: 60 }, (_, i) => 5 + (i % 50));
      const got = [];
      for await (const t of generate(make, prompt, { maxTokens: 100 })) got.push(t.id);
      assert.equal(got.length, 64 - 60, "stops at the 64-position context");
      await assert.rejects(
        async () => {
          for await (const _ of generate(make, Array(64).fill(5), { maxTokens: 1 })) void _;
        },
        (e: unknown) => e instanceof IntrospectError && e.code === "too-many-tokens" && /64 positions/.test(e.message),
      );
      await assert.rejects(m.run({ ids: Array(65).fill(5) }), /65 tokens but llama-torchscript has 64 positions/);
    } finally {
      await m.dispose();
    }
  });

  it("refuses attention scores over the memory limit before onnxruntime allocates them", async () => {
    const before = process.env.INTROSPECT_MAX_ATTENTION_BYTES;
    process.env.INTROSPECT_MAX_ATTENTION_BYTES = String(4 * 40 * 40 * 4 - 1); // just under 4 heads x 40 x 40
    const m = await openModel(DEMO);
    try {
      await assert.rejects(m.run({ ids: Array(40).fill(5) }), /40 tokens need .* GiB for one layer's attention scores/);
      const ok = await m.run({ ids: Array(39).fill(5) });
      assert.equal(ok.logits.dims[0], 39);
    } finally {
      if (before === undefined) delete process.env.INTROSPECT_MAX_ATTENTION_BYTES;
      else process.env.INTROSPECT_MAX_ATTENTION_BYTES = before;
      await m.dispose();
    }
  });
});

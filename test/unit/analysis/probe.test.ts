// buildProbeResult on the tiny local ONNX fixtures: shapes, agreement with a direct engine run,
// MoE routing only for MoE models, follow-up requests and user-facing errors.
import * as assert from "assert";
import * as path from "path";
import { openModel, IntrospectError, type LoadedModel } from "../../../src/engine";
import { ProbeSession, ProbeSessions, buildProbeResult } from "../../../src/engine";
import { loadTokenizer } from "../../../src/engine";

const LOCAL = path.resolve(__dirname, "../../fixtures/local");
// The tiny fixtures use a word-level vocabulary t0..t63.
const TEXT = "t1 t5 t9 t13 t2 t40 t33 t7 t8 t21 t3";

describe("analysis/probe on tiny ONNX models", function () {
  this.timeout(120000);
  const models: LoadedModel[] = [];
  const open = async (name: string) => {
    const m = await openModel(path.join(LOCAL, name));
    models.push(m);
    return m;
  };
  after(async () => {
    for (const m of models) {
      m.removeWrittenFiles();
      await m.dispose();
    }
  });

  it("packs [layers, selected tokens] metrics that match a direct engine run", async () => {
    const m = await open("tiny-llama");
    const tok = await loadTokenizer(m.resolved.folder);
    const selStart = TEXT.indexOf("t13");
    const selEnd = TEXT.indexOf(" t21");
    const s = await ProbeSession.start(m, TEXT, { start: selStart, end: selEnd }, { tokenizer: tok, neuronCount: 8 });
    const r = s.result;
    const n = r.selection.end - r.selection.start;
    assert.ok(n >= 3, `selection of ${n} tokens`);
    assert.strictEqual(r.layerCount, m.info.numLayers);
    assert.deepStrictEqual(r.metrics.residNorm.dims, [m.info.numLayers, n]);
    assert.strictEqual(r.tokens.filter((t) => t.selected).length, n);
    const ids = tok.encode(TEXT).map((t) => t.id);
    const last = m.info.numLayers - 1;
    const site = `blocks.${last}.hook_resid_post`;
    const { logits, captures } = await m.run({ ids, capture: [site] });
    const V = logits.dims[logits.dims.length - 1];
    const D = m.info.dModel;
    for (let c = 0; c < n; c++) {
      const pos = r.selection.start + c;
      // Residual norm equals the captured residual's norm.
      const row = captures.get(site)!.data.subarray(pos * D, (pos + 1) * D);
      const norm = Math.sqrt(row.reduce((a, v) => a + v * v, 0));
      assert.ok(Math.abs(r.metrics.residNorm.data[last * n + c] - norm) < 1e-3 * Math.max(1, norm));
      // The last layer's logit-lens top-1 is the model's own top-1 next token.
      const lr = logits.data.subarray(pos * V, (pos + 1) * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (lr[v] > lr[best]) best = v;
      assert.strictEqual(r.logitLens.ids.data[(last * n + c) * 5], best, `token ${pos}`);
    }
    assert.ok(r.neurons && r.neurons.neurons.length === 8);
    assert.deepStrictEqual(r.neurons.values.dims, [8, r.tokens.length]);
    assert.strictEqual(r.moe, undefined);
    assert.ok(r.timing && r.timing.forwardMs > 0);
    const other = await s.neurons({ layer: 0, k: 4 });
    assert.strictEqual(other.layer, 0);
    assert.strictEqual(other.neurons.length, 4);
    // tiny-llama computes attention with separate ops, so its weights are there to read.
    const att = await s.attention({ layer: last, head: 1 });
    assert.strictEqual(att.kind, "pattern", att.kind === "pattern" ? "" : att.reason);
    const K = r.selection.end;
    assert.deepStrictEqual(att.pattern.dims, [n, K]);
    for (let q = 0; q < n; q++) {
      const row = att.pattern.data.subarray(q * K, (q + 1) * K);
      const pos = r.selection.start + q;
      // Each selected token's row is a distribution over itself and the tokens before it (causal).
      assert.ok(Math.abs(row.reduce((a, v) => a + v, 0) - 1) < 1e-4, `row ${q} sums to ${row.reduce((a, v) => a + v, 0)}`);
      for (let k = pos + 1; k < K; k++) assert.strictEqual(row[k], 0, `query ${pos} attends to the later key ${k}`);
    }
  });

  it("answers every head of a layer from one pass, each head equal to a direct capture", async () => {
    const m = await open("tiny-llama");
    const tok = await loadTokenizer(m.resolved.folder);
    const s = await ProbeSession.start(m, TEXT, { start: 0, end: TEXT.length }, { tokenizer: tok });
    const H = m.info.numHeads!;
    assert.ok(H >= 2, `${H} heads`);
    const layer = m.info.numLayers - 1;
    assert.notStrictEqual(layer, 0, "a layer other than the probe's own (0)");
    const run = m.run.bind(m);
    let passes = 0;
    m.run = (req) => (passes++, run(req));
    try {
      // The panel's Heads view asks for every head of a layer at once, then the probe's own layer.
      const heads = await Promise.all(Array.from({ length: H }, (_, h) => s.attention({ layer, head: h })));
      assert.strictEqual(passes, 1, "one forward pass for all heads of the layer");
      await s.attention({ layer, head: 0, queries: "all" });
      assert.strictEqual(passes, 1, "the whole-prompt queries of the same layer need no pass");
      await s.attention({ layer: 0, head: 1 });
      assert.strictEqual(passes, 2, "another layer is one more pass");
      const site = `blocks.${layer}.attn.hook_pattern`;
      const direct = (await run({ ids: tok.encode(TEXT).map((t) => t.id), capture: [site] })).captures.get(site)!;
      const S = direct.dims[direct.dims.length - 1];
      heads.forEach((a, h) => {
        assert.strictEqual(a.kind, "pattern");
        if (a.kind !== "pattern") return;
        const want = direct.data.subarray(h * S * S, (h + 1) * S * S);
        assert.deepStrictEqual(Array.from(a.pattern.data), Array.from(want), `head ${h}`);
      });
    } finally {
      m.run = run;
    }
  });

  it("routes tokens to experts on an MoE model", async () => {
    const m = await open("tiny-moe");
    const r = await buildProbeResult(m, TEXT, { start: 0, end: TEXT.length });
    const moe = r.moe;
    assert.ok(moe, `no MoE data; notes: ${r.notes.join("; ")}`);
    const n = r.selection.end - r.selection.start;
    assert.deepStrictEqual(moe.usage.dims, [m.info.numLayers, m.info.numExperts]);
    for (let l = 0; l < r.layerCount; l++) {
      const sum: number = moe.usage.data.slice(l * moe.numExperts, (l + 1) * moe.numExperts).reduce((a, b) => a + b, 0);
      assert.strictEqual(sum, n * moe.k);
    }
  });

  it("keeps recent probes for follow-up requests and refuses stale ones", async () => {
    const m = models[0];
    const reg = new ProbeSessions(2);
    const a = await reg.probe(m, TEXT, { start: 0, end: 5 });
    const b = await reg.probe(m, TEXT, { start: 0, end: 5 });
    assert.notStrictEqual(a.id, b.id);
    assert.strictEqual((await reg.get(b.id!, m).neurons({ layer: 1, k: 3 })).neurons.length, 3);
    await reg.probe(m, TEXT, { start: 0, end: 5 });
    assert.throws(() => reg.get(a.id!, m), /probe the selection again/);
  });

  it("says what to do when the selection is empty or over budget", async () => {
    const m = models[0];
    await assert.rejects(
      buildProbeResult(m, TEXT, { start: 0, end: TEXT.length }, { maxTokens: 2 }),
      (e: unknown) => e instanceof IntrospectError && e.code === "too-many-tokens" && /budget/.test(e.message),
    );
    await assert.rejects(
      buildProbeResult(m, "", { start: 0, end: 0 }),
      (e: unknown) => e instanceof IntrospectError && e.code === "bad-input",
    );
  });
});

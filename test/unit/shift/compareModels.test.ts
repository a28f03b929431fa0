// "Compare with…" through the real model host over LSP (stdio): the probed text of demo-llama
// compared with demo-llama-tuned and with demo-llama's q4 variant. Every number the host answers
// equals the engine's two-model diff computed here, in this process, over the whole text and read
// at the selected positions; the summary is recomputed from those columns; a model B of another
// shape, or a probe of another model, is refused with one sentence.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { checkComparable, diffModels, IntrospectError, openModel, type LoadedModel, type ModelDiff } from "../../../src/engine";
import { loadTokenizer, type TextTokenizer } from "../../../src/engine/tokenizer";
import { CompareModelsRequest, type CompareModelsParams, type ModelComparison } from "../../../src/protocol/compareModels";
import { CancellationTokenSource } from "vscode-languageserver-protocol";
import { ConfigureRequest } from "../../../src/protocol/lsp";
import { fromWire } from "../../../src/protocol/wire";
import { startHost, type StartedHost } from "../helpers/host";

const ROOT = path.resolve(__dirname, "../../..");
const LLAMA = path.join(ROOT, "models/demo-llama");
const TUNED = path.join(ROOT, "models/demo-llama-tuned");
const GPT2 = path.join(ROOT, "models/demo-gpt2");
const CONTEXT = "When Mary and John went to the store, ";
const TEXT = `${CONTEXT}John gave a drink to Mary. They walked home together.`;

/** The host's sentence, without the JSON-RPC client's "Request … failed with message:" around it. */
async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message.replace(/^Request \S+ failed with message: /, "");
  }
  throw new Error("the request was not refused");
}

function close(got: number, want: number, what: string, tol = 1e-5) {
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
}

describe("Compare with… in the model host (LSP over stdio, demo-llama)", function () {
  this.timeout(300000);
  let started: StartedHost;
  let tok: TextTokenizer;
  let a: LoadedModel;
  let ids: number[];
  let selection: { start: number; end: number };

  before(async function () {
    if (!fs.existsSync(path.join(TUNED, "onnx/model.onnx"))) this.skip();
    tok = await loadTokenizer(LLAMA);
    a = await openModel(LLAMA);
    const tokens = tok.encode(TEXT);
    ids = tokens.map((t) => t.id);
    // The selection: the tokens after the context, as a probe of "John gave …" would have it.
    selection = { start: tokens.findIndex((t) => t.span.start >= CONTEXT.length), end: tokens.length };
    assert.ok(selection.start > 0 && selection.end - selection.start >= 8);
    started = await startHost();
    const state = await started.conn.sendRequest(ConfigureRequest.type, { modelPath: LLAMA, variant: "" });
    assert.equal(state.kind, "ready");
  });
  after(async () => {
    started?.stop();
    await a?.dispose();
  });

  const params = (modelB: CompareModelsParams["modelB"]): CompareModelsParams => ({
    text: TEXT,
    ids,
    selection,
    modelId: "demo-llama",
    probeId: "p1",
    modelB,
  });

  for (const [name, ref, label] of [
    ["demo-llama-tuned", { path: TUNED }, "demo-llama-tuned vs demo-llama"],
    ["the q4 variant", { path: LLAMA, variant: "q4" }, "q4 vs fp32"],
  ] as const) {
    it(`against ${name}: the host's numbers equal the engine's diff computed directly`, async () => {
      const got = fromWire<ModelComparison>(await started.conn.sendRequest(CompareModelsRequest.type, params(ref)));
      const b = await openModel(ref.path, "variant" in ref ? { variant: ref.variant } : {});
      let d: ModelDiff;
      try {
        d = await diffModels({ model: a, tok }, { model: b, tok: await loadTokenizer(b.resolved.folder) }, TEXT);
      } finally {
        await b.dispose();
      }
      const T = d.tokens.length;
      const n = selection.end - selection.start;
      assert.equal(got.probeId, "p1");
      assert.equal(got.offset, selection.start);
      assert.deepEqual(
        got.tokens.map((t) => t.id),
        ids.slice(selection.start, selection.end),
      );
      assert.equal(got.layers, 6);
      assert.equal(got.norm.length, 6 * n);
      for (let l = 0; l < got.layers; l++)
        for (let c = 0; c < n; c++) {
          const t = selection.start + c;
          close(got.norm[l * n + c], d.norm[l * T + t], `norm ${l},${c}`);
          close(got.cosine[l * n + c], d.cosine[l * T + t], `cosine ${l},${c}`);
          close(got.relative[l * n + c], d.relative[l * T + t], `relative ${l},${c}`);
        }
      const cols = Array.from({ length: n }, (_, c) => selection.start + c);
      cols.forEach((t, c) => {
        close(got.kl[c], d.kl[t], `KL ${c}`);
        assert.equal(got.top1A[c], d.top1A[t]);
        assert.equal(got.top1B[c], d.top1B[t]);
        assert.equal(got.vocab[got.top1B[c]], tok.tokenText(d.top1B[t]));
      });
      // The summary over the selected tokens, recomputed from the full diff's columns.
      const agree = cols.filter((t) => d.top1A[t] === d.top1B[t]).length / n;
      const meanKL = cols.reduce((s, t) => s + d.kl[t], 0) / n;
      const meanRel = Array.from({ length: 6 }, (_, l) => cols.reduce((s, t) => s + d.relative[l * T + t], 0) / n);
      const embed = cols.reduce((s, t) => s + d.embedRelativeByToken[t], 0) / n;
      const rises = meanRel.map((m, l) => m - (l ? meanRel[l - 1] : embed));
      const drift = rises.indexOf(Math.max(...rises));
      close(got.summary.top1Agreement, agree, "top-1 agreement");
      close(got.summary.meanKL, meanKL, "mean KL");
      assert.equal(got.summary.driftLayer, drift);
      const at = cols.reduce((best, t) => (d.relative[drift * T + t] > d.relative[drift * T + best] ? t : best), cols[0]);
      assert.equal(got.summary.driftToken, d.tokens[at].text);
      assert.ok(got.summary.text.startsWith(`${label}: top-1 agreement ${(100 * agree).toFixed(1)}%`), got.summary.text);
      if (name === "demo-llama-tuned") assert.equal(got.summary.driftLayer, 2, "the layer the tuning changed (tools/models/metrics)");
      console.log(`      ${got.summary.text} (${n} selected tokens of ${T})`);
    });
  }

  it("refuses a model B whose layers, width or vocabulary differ, with one sentence", async () => {
    const m = await refusal(started.conn.sendRequest(CompareModelsRequest.type, params({ path: GPT2 })));
    assert.match(
      m,
      /^demo-llama and demo-gpt2 cannot be compared position by position: they have 6 layers against 4[^.]*\. Compare two models of one architecture that share a tokenizer\.$/,
    );
  });

  it("refuses a probe of another model, and a model B that does not exist, with one sentence", async () => {
    const other = await refusal(started.conn.sendRequest(CompareModelsRequest.type, { ...params({ path: TUNED }), modelId: "demo-gpt2" }));
    assert.equal(other, "This probe was made with demo-gpt2, but demo-llama is loaded now: probe the selection again, then compare.");
    const missing = await refusal(
      started.conn.sendRequest(CompareModelsRequest.type, params({ path: path.join(ROOT, "models/no-such-model") })),
    );
    assert.match(missing, /^No model at \S*no-such-model: the path does not exist\./);
    assert.doesNotMatch(missing, /\n|\.ts:\d+/);
  });

  it("refuses a tokenizer that splits the text alike but reads a token as other text", () => {
    const other = Object.create(tok, {
      tokenText: { value: (id: number) => (id === ids[3] ? "<other>" : tok.tokenText(id)) },
    }) as TextTokenizer;
    assert.throws(
      () => checkComparable({ model: a, tok }, { model: a, tok: other }, TEXT),
      (e: unknown) =>
        e instanceof IntrospectError &&
        new RegExp(`tokenizers that read token ${ids[3]} as "[^"]*" and "<other>"\\. Compare`).test(e.message),
    );
  });

  it("a cancelled comparison ends as a cancellation, and the host compares again afterwards", async () => {
    const source = new CancellationTokenSource();
    const pending = started.conn.sendRequest(CompareModelsRequest.type, params({ path: TUNED }), source.token);
    source.cancel();
    const m = await refusal(pending);
    assert.equal(m, "Cancelled.");
    const again = fromWire<ModelComparison>(await started.conn.sendRequest(CompareModelsRequest.type, params({ path: TUNED })));
    assert.equal(again.summary.driftLayer, 2);
  });
});

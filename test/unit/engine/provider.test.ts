// introspect.executionProvider: a provider this onnxruntime-node build lacks, or one that cannot
// start, falls back to CPU with one sentence; the provider in use is recorded on the model and its
// info, and printed by the CLI. The GPU path itself cannot run on these machines (no GPU).
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as ort from "onnxruntime-node";
import { runCli as cli } from "../helpers/host";
import { openModel } from "../../../src/engine";
import { bindingBackends, chooseProvider, createWithProvider, describeProvider } from "../../../src/engine/model/provider";

const ROOT = path.join(__dirname, "..", "..", "..");
const ZOO_LLAMA = path.join(ROOT, "test", "fixtures", "zoo", "llama-torchscript");

describe("execution provider setting and its CPU fallback", function () {
  this.timeout(120000);

  it("chooses the requested provider only when the binding has it, else CPU with the reason", () => {
    assert.deepEqual(chooseProvider(undefined, ["cpu"]), { requested: "cpu", used: "cpu" });
    assert.deepEqual(chooseProvider("CUDA", ["cpu", "cuda"]), { requested: "cuda", used: "cuda" });
    const dml = chooseProvider("dml", ["cpu", "webgpu"], "linux-x64");
    assert.equal(dml.used, "cpu");
    assert.equal(dml.fallback, "onnxruntime-node on linux-x64 has no dml execution provider (it has cpu, webgpu): running on CPU.");
    const odd = chooseProvider("tpu", ["cpu"]);
    assert.equal(odd.used, "cpu");
    assert.match(
      odd.fallback!,
      /^"tpu" is not an execution provider Introspect knows \(cpu, cuda, coreml, dml, webgpu\): running on CPU\.$/,
    );
  });

  it("a provider whose session fails to start falls back to CPU and says why; CPU errors still throw", async () => {
    const tried: string[][] = [];
    const fake = (async (_file: string, o: ort.InferenceSession.SessionOptions) => {
      const eps = (o.executionProviders ?? []) as string[];
      tried.push(eps);
      if (eps[0] === "cuda") throw new Error("libonnxruntime_providers_cuda.so: cannot open shared object file\nmore detail");
      return { ok: true } as unknown as ort.InferenceSession;
    }) as unknown as typeof ort.InferenceSession.create;
    const state = chooseProvider("cuda", ["cpu", "cuda"]);
    const s = await createWithProvider("m.onnx", {}, state, fake);
    assert.deepEqual(s, { ok: true });
    assert.deepEqual(tried, [["cuda"], ["cpu"]]);
    assert.equal(state.used, "cpu");
    assert.equal(
      state.fallback,
      "The cuda execution provider could not start (libonnxruntime_providers_cuda.so: cannot open shared object file): running on CPU.",
    );
    assert.equal(describeProvider(state), `cpu (cuda requested: ${state.fallback})`);
    const broken = (async () => {
      throw new Error("bad model");
    }) as unknown as typeof ort.InferenceSession.create;
    await assert.rejects(createWithProvider("m.onnx", {}, chooseProvider("cpu"), broken), /bad model/);
  });

  it("on this machine (no GPU) a model asked to run on CUDA runs on CPU, forward intact, and info says why", async () => {
    // This build lists cuda without bundling it: either it is not listed or its session cannot start.
    const cpu = await openModel(ZOO_LLAMA);
    const gpu = await openModel(ZOO_LLAMA, { executionProvider: "cuda" });
    try {
      assert.equal(gpu.provider.requested, "cuda");
      assert.equal(gpu.provider.used, "cpu");
      assert.match(
        gpu.provider.fallback!,
        bindingBackends().includes("cuda")
          ? /^The cuda execution provider could not start \(.+\): running on CPU\.$/
          : /has no cuda execution provider/,
      );
      assert.deepEqual(gpu.info.executionProvider, gpu.provider);
      const ids = [3, 7, 11, 2];
      const a = await cpu.run({ ids });
      const b = await gpu.run({ ids });
      assert.deepEqual(Array.from(b.logits.data), Array.from(a.logits.data));
      assert.equal(cpu.provider.used, "cpu");
      assert.equal(cpu.provider.fallback, undefined);
    } finally {
      await cpu.dispose();
      await gpu.dispose();
    }
  });

  it("the CLI prints the provider in use and the fallback sentence", async () => {
    const r = await cli(["info", "--model", ZOO_LLAMA, "--provider", "dml"]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /execution provider\s+cpu \(dml requested: onnxruntime-node on \S+ has no dml execution provider \(it has [a-z, ]+\): running on CPU\.\)/,
    );
    const p = await cli(["probe", "--model", ZOO_LLAMA, "--text", "hello", "--provider", "cpu"]);
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /^execution provider: cpu$/m);
  });
});

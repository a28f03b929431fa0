// Every CLI command that runs a model opens it one way (cli/model.ts openFromOptions), so --config
// and --provider mean the same in each: a --config that contradicts the graph is refused with
// probe's sentence, and a provider this build lacks falls back to CPU saying probe's sentence.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Io } from "../../../src/cli/common";
import { main } from "../../../src/cli/main";
import { TINY_LLAMA as TINY } from "../helpers/craftedModels";

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t), stdin: async () => "", cancel: { isCancellationRequested: false } };
  return { code: await main(args, io), out, err };
}

describe("CLI model options reach every command", function () {
  this.timeout(300000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-modelopts-"));
  const reference = path.join(tmp, "benign.jsonl");
  const cache = process.env.XDG_CACHE_HOME;
  before(() => {
    process.env.XDG_CACHE_HOME = path.join(tmp, "cache");
    const texts = ["t1 t2 t3 t4", "t5 t6 t7", "t8 t9 t10 t11 t12", "t13 t14", "t15 t16 t17 t18"];
    fs.writeFileSync(reference, texts.map((text) => JSON.stringify({ text, label: "benign" })).join("\n") + "\n");
  });
  after(() => {
    if (cache === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = cache;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** Each command's arguments up to the model options (all of them valid for TINY). */
  const COMMANDS: Record<string, string[]> = {
    shift: ["shift", "--model", TINY, "--reference", reference, "--text", "t3 t4 t5"],
    sparsity: ["sparsity", "--model", TINY, "--text", "t1 t2 t3 t4 t5 t6", "--p", "0"],
    diff: ["diff", "--model", TINY, "--text", "t1 t2 t3"],
    generate: ["generate", "--model", TINY, "--text", "t1 t2", "--max-tokens", "1"],
    patch: ["patch", "--model", TINY, "--clean", "t1 t2 t3", "--corrupt", "t1 t5 t3", "--answer", "t4", "--wrong", "t6"],
  };
  const PROBE = ["probe", "--model", TINY, "--text", "t1 t2"];

  it("a --config that contradicts the graph is refused by each command with probe's one line", async () => {
    const probe = await cli([...PROBE, "--config", "num_hidden_layers=7"]);
    assert.equal(probe.code, 2, probe.err);
    assert.match(probe.err, /^introspect: .*config\.json num_hidden_layers says 7.*\n$/);
    for (const [name, args] of Object.entries(COMMANDS)) {
      const r = await cli([...args, "--config", "num_hidden_layers=7"]);
      assert.equal(r.code, 2, `${name}: ${r.err}`);
      assert.equal(r.err, probe.err, name);
      // Without the override the same command line runs.
      const ok = await cli(args);
      assert.equal(ok.code, 0, `${name}: ${ok.err}`);
      assert.equal(ok.err.includes("num_hidden_layers"), false, name);
    }
  });

  it("a provider this build lacks falls back to CPU, and each command says so in probe's sentence", async () => {
    const probe = await cli([...PROBE, "--provider", "tpu"]);
    assert.equal(probe.code, 0, probe.err);
    const line = /^execution provider: cpu \(tpu requested: (.+)\)$/m.exec(probe.out);
    assert.ok(line, probe.out);
    const sentence = line[1];
    assert.match(sentence, /^"tpu" is not an execution provider Introspect knows \(.+\): running on CPU\.$/);
    for (const [name, args] of Object.entries(COMMANDS)) {
      const r = await cli([...args, "--provider", "tpu"]);
      assert.equal(r.code, 0, `${name}: ${r.err}`);
      const said = r.err.split("\n").filter((l) => l.includes("execution provider"));
      assert.deepEqual(said, [`introspect: ${sentence}`], `${name}: ${r.err}`);
      // The CPU default says nothing about providers.
      const cpu = await cli([...args, "--provider", "cpu"]);
      assert.equal(cpu.code, 0, `${name}: ${cpu.err}`);
      assert.equal(cpu.err.includes("execution provider"), false, `${name}: ${cpu.err}`);
    }
  });
});

// The architecture map checks itself against config.json, the key/value cache inputs and the layer
// numbers in names, and refuses with a sentence when they disagree. Each lie below is told to the
// map on a copy of a real export; the refusal must name what disagrees and where each count came from.
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openModel, IntrospectError } from "../../../src/engine";
import { zooCases } from "../../../src/engine";
import { runCli as cli } from "../helpers/host";

const ROOT = path.join(__dirname, "..", "..", "..");
const ZOO = path.join(ROOT, "test", "fixtures", "zoo");
const CRAFTED = path.join(ROOT, "test", "fixtures", "crafted");

/** A copy of a zoo folder (config, tokenizer, model.onnx) whose config.json is edited. */
function lyingCopy(folder: string, edit: (cfg: Record<string, unknown>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-lie-"));
  const src = path.join(ZOO, folder);
  fs.mkdirSync(path.join(dir, "onnx"));
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  fs.copyFileSync(path.join(src, "onnx", "model.onnx"), path.join(dir, "onnx", "model.onnx"));
  const cfg = JSON.parse(fs.readFileSync(path.join(src, "config.json"), "utf8")) as Record<string, unknown>;
  edit(cfg);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(cfg));
  return dir;
}

async function refusalOf(p: string): Promise<string> {
  try {
    const m = await openModel(p, { warm: false });
    await m.dispose();
  } catch (e) {
    assert.ok(e instanceof IntrospectError, `not an IntrospectError: ${(e as Error).stack}`);
    assert.equal(e.code, "map-check-failed", e.message);
    return e.message;
  }
  assert.fail(`${p} opened although its map cannot be confirmed`);
}

describe("architecture map self-check", function () {
  this.timeout(120000);
  const tmp: string[] = [];
  after(() => tmp.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("confirms every zoo export by at least two independent layer counts and agrees on every check", async () => {
    const cases = zooCases(ZOO, path.join(ROOT, "test", "fixtures", "reference"));
    assert.ok(cases.length >= 60, `only ${cases.length} zoo cases`);
    for (const c of cases) {
      const m = await openModel(c.modelPath, { variant: c.variant, warm: false });
      try {
        const checks = m.info.checks ?? [];
        const bad = checks.filter((x) => x.verdict !== "agree");
        assert.deepEqual(bad, [], `${c.name}: ${JSON.stringify(bad)}`);
        const layerSources = checks.filter((x) => x.what === "layers").map((x) => x.source);
        assert.ok(layerSources.length >= 2, `${c.name}: layers confirmed only by ${layerSources.join(", ")}`);
        assert.ok(checks.some((x) => x.what === "attention" && x.graph === m.info.numLayers));
      } finally {
        await m.dispose();
      }
    }
  });

  it("refuses a config.json with the wrong layer count, naming both counts and their sources", async () => {
    const dir = lyingCopy("llama-torchscript", (c) => (c.num_hidden_layers = 4));
    tmp.push(dir);
    const msg = await refusalOf(dir);
    assert.match(msg, /layers: the graph gives 3, config\.json num_hidden_layers says 4/);
    assert.match(msg, /past_key_values inputs/); // the agreeing accounts are named too
    assert.match(msg, /override it explicitly/);
    // The user's explicit override opens it.
    const m = await openModel(dir, { warm: false, config: { num_hidden_layers: 3 } });
    assert.equal(m.info.numLayers, 3);
    await m.dispose();
  });

  it("refuses a wrong width and a wrong expert count", async () => {
    const w = lyingCopy("gpt2-dynamo", (c) => (c.n_embd = 48));
    const e = lyingCopy("olmoe-dynamo", (c) => (c.num_experts = 8));
    const d = lyingCopy("qwen2-dynamo", (c) => (c.num_local_experts = 8));
    tmp.push(w, e, d);
    assert.match(await refusalOf(w), /width: the graph gives 32, config\.json n_embd says 48/);
    assert.match(await refusalOf(e), /experts: the graph gives 4, config\.json num_experts says 8/);
    assert.match(await refusalOf(d), /experts: the graph gives no mixture-of-experts layer, config\.json num_local_experts says 8 experts/);
  });

  it("refuses a graph whose attention has been made unrecognisable, and a model without attention", async () => {
    // llama-no-softmax: the zoo's llama export with every Softmax replaced by a Sigmoid.
    assert.match(await refusalOf(path.join(CRAFTED, "llama-no-softmax")), /attention was recognised in 0 of 3 layers/);
    // Mamba (state-space layers, no attention) exported the same way.
    assert.match(await refusalOf(path.join(CRAFTED, "mamba")), /attention was recognised in 0 of 3 layers/);
  });

  it("introspect info prints the map, each check and the verdict (exit 0 confirmed, 2 refused)", async () => {
    const ok = await cli(["info", "--model", path.join(ZOO, "bloom-torchscript")]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /layers\s+3\n/);
    assert.match(ok.out, /layers\s+3\s+3\s+config\.json n_layer\s+agree/);
    assert.match(ok.out, /verdict: confirmed by \d+ checks/);
    const dir = lyingCopy("mixtral-torchscript", (c) => (c.num_hidden_layers = 6));
    tmp.push(dir);
    const bad = await cli(["info", "--model", dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.out, /layers\s+3\s+6\s+config\.json num_hidden_layers\s+DISAGREE/);
    assert.match(bad.out, /verdict: refused/);
    const probe = await cli(["probe", "--model", dir, "--text", "hello"]);
    assert.equal(probe.code, 2);
    assert.match(probe.err, /could not confirm the architecture map/);
    const fixed = await cli(["info", "--model", dir, "--config", "num_hidden_layers=3"]);
    assert.equal(fixed.code, 0, fixed.out);
  });
});

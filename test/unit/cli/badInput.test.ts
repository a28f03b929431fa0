// The bad-input corpus: one row per input a user (or an attacker) can hand the CLI, with the exit
// code it must get and a piece of the sentence it must print. No row may end in exit 3 (internal
// error), print a stack trace, or take more than one line. Add a row for every new way in.
//
// Rows run in-process through main() (test/unit/cli/signals.test.ts covers the process itself:
// signals, kills, orphans). Files a row needs are made in its own temp folder by `setup`.
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Io } from "../../../src/cli/common";
import { main } from "../../../src/cli/main";
import { GgufType, writeGguf } from "../../../src/engine/steer/gguf";
import { encodeIvec } from "../../../src/engine/steer/ivec";
import { makeVector } from "../../../src/engine/steer/vector";
import { craftExternalModel, craftModelWithNodes, hiddenExternalNodes, TINY_LLAMA } from "../helpers/craftedModels";

const TINY = TINY_LLAMA;
const GEN = ["generate", "--model", TINY, "--text", "t1 t2", "--max-tokens", "2"];
const PROBE = ["probe", "--model", TINY, "--text", "t1 t2"];

interface Row {
  name: string;
  /** The command line; `dir` is the row's own temp folder. */
  args: (dir: string) => string[];
  setup?: (dir: string) => void;
  code: number;
  /** A piece of stderr (case-sensitive), or a pattern. */
  err?: string | RegExp;
  /** For rows that succeed: a piece of stdout. */
  out?: string | RegExp;
  /** Checked after the run (e.g. that nothing was written). */
  after?: (dir: string) => void;
}

// ---- input files --------------------------------------------------------------------------------

/** An .ivec for tiny-llama whose header is rewritten by `edit` (the data stays valid). */
function ivecWithHeader(file: string, edit: (h: Record<string, unknown>) => void, data = new Float32Array(16).fill(0.5)): void {
  const v = makeVector({ name: "v", modelId: "tiny-llama", site: "blocks.0.hook_resid_post", data });
  const good = encodeIvec(v);
  const n = good.readUInt32LE(8);
  const header = JSON.parse(good.toString("utf8", 12, 12 + n)) as Record<string, unknown>;
  edit(header);
  let json = Buffer.from(JSON.stringify(header), "utf8");
  const pad = (4 - ((12 + json.length) % 4)) % 4;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const head = Buffer.alloc(12);
  head.write("IVEC", 0, "latin1");
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(json.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, json, good.subarray(12 + n)]));
}

const CV_META: [string, { type: GgufType.STRING; value: string }][] = [
  ["general.architecture", { type: GgufType.STRING, value: "controlvector" }],
  ["controlvector.model_hint", { type: GgufType.STRING, value: "llama" }],
];

/** 200,000 arrays nested in one metadata value (each: element type ARRAY, count 1), then an empty uint8 array. */
function deeplyNestedGguf(file: string, depth = 200_000): void {
  const key = Buffer.from("x", "utf8");
  const head = Buffer.alloc(4 + 4 + 8 + 8 + 8 + key.length + 4);
  let p = head.write("GGUF", 0, "latin1");
  p = head.writeUInt32LE(3, p);
  p = head.writeBigUInt64LE(0n, p);
  p = head.writeBigUInt64LE(1n, p);
  p = head.writeBigUInt64LE(BigInt(key.length), p);
  p += key.copy(head, p);
  head.writeUInt32LE(GgufType.ARRAY, p);
  const level = Buffer.alloc(12);
  level.writeUInt32LE(GgufType.ARRAY, 0);
  level.writeBigUInt64LE(1n, 4);
  const last = Buffer.alloc(12);
  last.writeUInt32LE(GgufType.UINT8, 0);
  last.writeBigUInt64LE(0n, 4);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.concat(Array.from({ length: depth }, () => level)), last]));
}

function noEditedGraphs(dir: string): void {
  const left = fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.includes(".introspect-"));
  assert.deepEqual(left, [], "nothing may be written beside the model");
}

function copyTiny(dest: string): void {
  fs.cpSync(TINY, dest, { recursive: true, filter: (s) => !s.includes("reference") && !s.includes(".introspect-") });
}

// ---- the table ----------------------------------------------------------------------------------

export const ROWS: Row[] = [
  // Steering vector files (.ivec)
  {
    name: ".ivec layerWeights is a string",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), (h) => (h.layerWeights = "all of them")),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: 'has a damaged "layerWeights" in its header: expected a list of {layer, weight}, found string',
  },
  {
    name: ".ivec layerWeights entry with a text layer",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), (h) => (h.layerWeights = [{ layer: "one", weight: 1 }])),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: 'entry 0 has no whole-number "layer"',
  },
  {
    name: ".ivec layerWeights entry without a finite weight",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), (h) => (h.layerWeights = [{ layer: 1, weight: null }])),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: 'entry 0 has no finite "weight"',
  },
  {
    name: ".ivec layerWeights is an object",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), (h) => (h.layerWeights = { layer: 1, weight: 1 })),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: "found object",
  },
  {
    name: ".ivec whose values are so large the forward pass overflows",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), () => undefined, new Float32Array(16).fill(3e38)),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec"), "--alpha", "10"],
    code: 2,
    err: "non-finite values (NaN or infinity)",
  },
  // GGUF control vectors
  {
    name: "GGUF with general.alignment 0",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "a0.gguf"),
        writeGguf(
          [...CV_META, ["general.alignment", { type: GgufType.UINT32, value: 0 }]],
          [{ name: "direction.1", dims: [16], data: new Float32Array(16).fill(0.1) }],
        ),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "a0.gguf")],
    code: 2,
    err: "has general.alignment 0; it must be a power of two",
  },
  {
    name: "GGUF with general.alignment 3",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "a3.gguf"),
        writeGguf(
          [...CV_META, ["general.alignment", { type: GgufType.UINT32, value: 3 }]],
          [{ name: "direction.1", dims: [16], data: new Float32Array(16) }],
        ),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "a3.gguf")],
    code: 2,
    err: "general.alignment 3",
  },
  {
    name: "GGUF tensor with dimensions of 2^40",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "big.gguf"),
        writeGguf(CV_META, [{ name: "direction.1", dims: [2 ** 40], data: new Float32Array(16) }]),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "big.gguf")],
    code: 2,
    err: "tensor direction.1 has dimensions 1099511627776, which run past the end of the file",
  },
  {
    name: "GGUF tensor with dimensions whose product overflows",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "huge.gguf"),
        writeGguf(CV_META, [{ name: "direction.1", dims: [2 ** 40, 2 ** 40], data: new Float32Array(16) }]),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "huge.gguf")],
    code: 2,
    err: "run past the end of the file",
  },
  {
    name: "GGUF with 200,000 nested metadata arrays",
    setup: (d) => deeplyNestedGguf(path.join(d, "nested.gguf")),
    args: (d) => [...GEN, "--steer", path.join(d, "nested.gguf")],
    code: 2,
    err: "nests metadata arrays more than 8 deep",
  },
  {
    name: "GGUF claiming 2^50 metadata entries",
    setup: (d) => {
      const b = writeGguf(CV_META, [{ name: "direction.1", dims: [16], data: new Float32Array(16) }]);
      b.writeBigUInt64LE(2n ** 50n, 16);
      fs.writeFileSync(path.join(d, "count.gguf"), b);
    },
    args: (d) => [...GEN, "--steer", path.join(d, "count.gguf")],
    code: 2,
    err: "says it holds 1125899906842624 metadata entries",
  },
  {
    name: "GGUF direction holding NaN",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "nan.gguf"),
        writeGguf(CV_META, [{ name: "direction.1", dims: [16], data: Float32Array.from({ length: 16 }, (_, i) => (i === 5 ? NaN : 0.1)) }]),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "nan.gguf")],
    code: 2,
    err: "direction.1 holds a non-finite value (NaN) at index 5",
  },
  {
    name: "GGUF direction holding infinity",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "inf.gguf"),
        writeGguf(CV_META, [{ name: "direction.1", dims: [16], data: Float32Array.from({ length: 16 }, (_, i) => (i ? 0 : -Infinity)) }]),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "inf.gguf")],
    code: 2,
    err: "non-finite value (-Infinity) at index 0",
  },
  // Option values
  {
    name: "--alpha 1e30",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), () => undefined),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec"), "--alpha", "1e30"],
    code: 1,
    err: "--alpha 1e30 is out of range: use a value from -1000000 to 1000000",
  },
  {
    name: "--alpha -2 is a negative strength, not an option",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), () => undefined),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec"), "--alpha", "-2", "--json"],
    code: 0,
    out: '"alpha":-2',
  },
  {
    name: "--alpha -x is still a mistake",
    args: () => [...GEN, "--alpha", "-x"],
    code: 1,
    err: "--alpha",
  },
  {
    name: "--alpha NaN",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), () => undefined),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec"), "--alpha", "NaN"],
    code: 1,
    err: '--alpha must be a number (got "NaN")',
  },
  {
    name: "--threads 1000",
    args: () => [...PROBE, "--threads", "1000"],
    code: 1,
    err: /--threads 1000 is too large: at most \d+ \(this machine has \d+ logical CPUs?\)/,
  },
  {
    name: "--threads -1",
    args: () => [...PROBE, "--threads", "-1"],
    code: 1,
    err: "--threads must be a whole number >= 0",
  },
  {
    name: "--top 100000",
    args: () => [...PROBE, "--top", "100000", "--json"],
    code: 1,
    err: "--top 100000 is too large: at most 100",
  },
  {
    name: "--top above the model's vocabulary",
    args: () => [...PROBE, "--top", "65", "--json"],
    code: 2,
    err: "--top 65 is more than this model's vocabulary of 64 tokens",
  },
  {
    name: "--max-tokens 1.5",
    args: () => [...GEN.slice(0, -2), "--max-tokens", "1.5"],
    code: 1,
    err: "--max-tokens must be a whole number",
  },
  // Model files
  {
    name: "external data at ../../etc/hostname",
    setup: (d) => void craftExternalModel(path.join(d, "a", "b", "m"), "../../etc/hostname"),
    args: (d) => ["probe", "--model", path.join(d, "a", "b", "m"), "--text", "t1"],
    code: 2,
    err: "keeps its weights at ../../etc/hostname, outside the model's folder",
    after: (d) => noEditedGraphs(d),
  },
  {
    name: "external data hidden in a Constant node's value attribute",
    setup: (d) => void craftModelWithNodes(path.join(d, "a", "b", "m"), [hiddenExternalNodes("../../etc/hostname").attribute]),
    args: (d) => ["probe", "--model", path.join(d, "a", "b", "m"), "--text", "t1"],
    code: 2,
    err: 'tensor "hidden_value" keeps its weights at ../../etc/hostname, outside the model\'s folder',
  },
  {
    name: "external data hidden in a subgraph's initializer",
    setup: (d) => void craftModelWithNodes(path.join(d, "m"), [hiddenExternalNodes("/etc/hostname").subgraph]),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: 'tensor "hidden_body_weight" keeps its weights at the absolute path /etc/hostname',
  },
  {
    name: "external data at /dev/zero",
    setup: (d) => void craftExternalModel(path.join(d, "m"), "/dev/zero"),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "absolute path /dev/zero",
  },
  {
    name: "external data in a FIFO",
    setup: (d) => {
      const c = craftExternalModel(path.join(d, "m"), "w.fifo");
      execFileSync("mkfifo", [path.join(c.dir, "onnx", "w.fifo")]);
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "w.fifo is a named pipe (FIFO), not a regular file",
  },
  {
    name: "external data through a link out of the folder",
    setup: (d) => {
      const c = craftExternalModel(path.join(d, "m"), "w.bin");
      fs.writeFileSync(path.join(d, "outside.bin"), c.original);
      fs.symlinkSync(path.join(d, "outside.bin"), path.join(c.dir, "onnx", "w.bin"));
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: /the weights file w\.bin is a link to .*outside\.bin, outside the model's folder/,
  },
  {
    name: "external data file truncated",
    setup: (d) => {
      const c = craftExternalModel(path.join(d, "m"), "w.bin");
      fs.writeFileSync(path.join(c.dir, "onnx", "w.bin"), c.original.subarray(0, 100));
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "the weights file w.bin is 100 bytes, but tensor",
  },
  {
    name: "model.onnx is a FIFO",
    setup: (d) => {
      fs.mkdirSync(path.join(d, "m", "onnx"), { recursive: true });
      fs.copyFileSync(path.join(TINY, "tokenizer.json"), path.join(d, "m", "tokenizer.json"));
      execFileSync("mkfifo", [path.join(d, "m", "onnx", "model.onnx")]);
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "is a named pipe (FIFO), not a regular file",
  },
  {
    name: "tokenizer missing: refused before anything is written beside the model",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      fs.rmSync(path.join(d, "m", "tokenizer.json"));
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "tokenizer.json not found next to model.onnx",
    after: (d) => noEditedGraphs(d),
  },
  {
    name: "tokenizer.json that is not JSON: refused before anything is written",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      fs.writeFileSync(path.join(d, "m", "tokenizer.json"), "{ not json");
    },
    args: (d) => ["generate", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "is not valid JSON",
    after: (d) => noEditedGraphs(d),
  },
  // Output files
  {
    name: "--out into a folder that does not exist: refused before any work",
    setup: (d) => copyTiny(path.join(d, "m")),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1", "--out", path.join(d, "missing", "x.safetensors")],
    code: 2,
    err: /--out .*x\.safetensors: the folder .*missing does not exist/,
    after: (d) => noEditedGraphs(d),
  },
  {
    name: "--out naming a folder",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      fs.mkdirSync(path.join(d, "x.safetensors"));
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1", "--out", path.join(d, "x.safetensors")],
    code: 2,
    err: "x.safetensors is a folder; name a file to write",
    after: (d) => noEditedGraphs(d),
  },
  {
    name: "patch --out into a folder that does not exist",
    args: (d) => [
      "patch",
      "--model",
      TINY,
      "--clean",
      "t1 t2",
      "--corrupt",
      "t1 t3",
      "--answer",
      "t4",
      "--wrong",
      "t5",
      "--out",
      path.join(d, "no", "p.safetensors"),
    ],
    code: 2,
    err: "the folder",
  },
];

// ---- the runner ---------------------------------------------------------------------------------

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    stdin: async () => "",
    cancel: { isCancellationRequested: false },
  };
  return { code: await main(args, io), out, err };
}

describe("bad-input corpus (CLI)", function () {
  this.timeout(60000);
  for (const row of ROWS) {
    it(`${row.name} -> exit ${row.code}`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-bad-"));
      try {
        row.setup?.(dir);
        const r = await run(row.args(dir));
        const said = `exit ${r.code}, stderr: ${r.err}`;
        assert.equal(r.code, row.code, said);
        assert.ok(!/internal error|\n\s+at /.test(r.err), `no internal error or stack: ${r.err}`);
        if (row.code !== 0) {
          assert.equal(
            r.err.trimEnd().split("\n").length,
            row.code === 1 ? 2 : 1,
            `one sentence (usage errors add the --help line): ${r.err}`,
          );
          assert.match(r.err, /^introspect: /);
        }
        if (row.err !== undefined) {
          if (typeof row.err === "string") assert.ok(r.err.includes(row.err), `stderr should contain ${JSON.stringify(row.err)}: ${r.err}`);
          else assert.match(r.err, row.err);
        }
        if (row.out !== undefined) {
          if (typeof row.out === "string") assert.ok(r.out.includes(row.out), `stdout should contain ${JSON.stringify(row.out)}: ${r.out}`);
          else assert.match(r.out, row.out);
        }
        row.after?.(dir);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

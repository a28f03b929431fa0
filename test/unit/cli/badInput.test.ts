// The bad-input corpus: one row per input a user (or an attacker) can hand the CLI, with the exit
// code it must get and a piece of the sentence it must print. No row may end in exit 3 (internal
// error), print a stack trace, or take more than one line. Add a row for every new way in.
//
// Rows run in-process through main() (test/unit/cli/signals.test.ts covers the process itself:
// signals, kills, orphans). Files a row needs are made in its own temp folder by `setup`.
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Io } from "../../../src/cli/common";
import { main } from "../../../src/cli/main";
import { GgufType, writeGguf } from "../../../src/engine";
import { encodeIvec } from "../../../src/engine";
import { makeVector } from "../../../src/engine";
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

/** A copy of tiny-llama at `dest` with `edit` applied to its config.json. */
function tinyWithConfig(dest: string, edit: (c: Record<string, unknown>) => void): void {
  copyTiny(dest);
  const file = path.join(dest, "config.json");
  const c = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  edit(c);
  fs.writeFileSync(file, JSON.stringify(c));
}

/** A copy of tiny-llama at `dest` whose onnx/model.onnx is replaced by `bytes`. */
function tinyWithOnnx(dest: string, bytes: Buffer | string): void {
  copyTiny(dest);
  fs.rmSync(path.join(dest, "onnx", "model_fp16.onnx"));
  fs.writeFileSync(path.join(dest, "onnx", "model.onnx"), bytes);
}

/** Deterministic bytes that are not a protobuf. */
function noise(n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919 + 13) % 256));
}

const TINY_ONNX = path.join(TINY, "onnx", "model.onnx");
const SAMPLE = [...GEN, "--temperature", "1"];
const ZOO = path.resolve(__dirname, "../../fixtures/zoo");
const CRAFTED = path.resolve(__dirname, "../../fixtures/crafted");
function PATCH(answer: string, wrong: string, clean = "t1 t2", corrupt = "t1 t3"): string[] {
  return ["patch", "--model", TINY, "--clean", clean, "--corrupt", corrupt, "--answer", answer, "--wrong", wrong];
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
  // Command lines
  { name: "unknown command", args: () => ["frobnicate"], code: 1, err: 'unknown command "frobnicate"' },
  { name: "unknown option", args: () => [...PROBE, "--frob"], code: 1, err: "Unknown option '--frob'" },
  { name: "info without --model", args: () => ["info"], code: 1, err: "--model is required" },
  { name: "--text and --text-file together", args: () => [...PROBE, "--text-file", TINY_ONNX], code: 1, err: "not both" },
  // Numeric options: malformed, negative, zero, huge, NaN, Infinity, empty
  { name: "--top 0", args: () => [...PROBE, "--top", "0"], code: 1, err: '--top must be a whole number >= 1 (got "0")' },
  { name: "--top abc", args: () => [...PROBE, "--top", "abc"], code: 1, err: '(got "abc")' },
  { name: "--threads 1.5", args: () => [...PROBE, "--threads", "1.5"], code: 1, err: '--threads must be a whole number >= 0 (got "1.5")' },
  { name: "--threads empty", args: () => [...PROBE, "--threads", ""], code: 1, err: '(got "")' },
  { name: "--max-tokens -1", args: () => [...GEN.slice(0, -2), "--max-tokens", "-1"], code: 1, err: '(got "-1")' },
  { name: "--max-tokens Infinity", args: () => [...GEN.slice(0, -2), "--max-tokens", "Infinity"], code: 1, err: '(got "Infinity")' },
  { name: "--max-tokens 1e20", args: () => [...GEN.slice(0, -2), "--max-tokens", "1e20"], code: 1, err: "--max-tokens 1e20 is too large" },
  { name: "--alpha empty", args: () => [...GEN, "--alpha", ""], code: 1, err: '--alpha must be a number (got "")' },
  { name: "--alpha without --steer", args: () => [...GEN, "--alpha", "3"], code: 1, err: "--alpha needs --steer FILE" },
  { name: "--temperature 0", args: () => [...GEN, "--temperature", "0"], code: 1, err: "--temperature must be above 0" },
  { name: "--temperature -1", args: () => [...GEN, "--temperature", "-1"], code: 1, err: "--temperature must be above 0" },
  { name: "--temperature NaN", args: () => [...GEN, "--temperature", "NaN"], code: 1, err: '--temperature must be a number (got "NaN")' },
  { name: "--top-k 0", args: () => [...SAMPLE, "--top-k", "0"], code: 1, err: '--top-k must be a whole number >= 1 (got "0")' },
  { name: "--top-k without --temperature", args: () => [...GEN, "--top-k", "5"], code: 1, err: "--top-k needs --temperature" },
  { name: "--top-p 0", args: () => [...SAMPLE, "--top-p", "0"], code: 2, err: "top-p must be in (0, 1] (got 0)" },
  { name: "--top-p 2", args: () => [...SAMPLE, "--top-p", "2"], code: 2, err: "(got 2)" },
  { name: "--seed abc", args: () => [...SAMPLE, "--seed", "abc"], code: 1, err: '--seed must be a whole number >= 0 (got "abc")' },
  { name: "--seed -5", args: () => [...SAMPLE, "--seed", "-5"], code: 1, err: '(got "-5")' },
  { name: "--batch 0", args: () => [...PATCH("t4", "t5"), "--batch", "0"], code: 1, err: '--batch must be a whole number >= 1 (got "0")' },
  // Sites and layers
  { name: "--sites with an unknown short form", args: () => [...PROBE, "--sites", "resid_foo"], code: 2, err: "Unknown site resid_foo" },
  {
    name: "--sites with a layer past the last",
    args: () => [...PROBE, "--sites", "blocks.9.hook_resid_post"],
    code: 2,
    err: "Unknown site blocks.9.hook_resid_post",
  },
  { name: "--sites with layer -1", args: () => [...PROBE, "--sites", "blocks.-1.hook_resid_post"], code: 2, err: "Unknown site blocks.-1" },
  { name: "--sites of commas only", args: () => [...PROBE, "--sites", ",,"], code: 1, err: "--sites is empty" },
  {
    name: "--sites router_logits on a dense model",
    args: () => [...PROBE, "--sites", "router_logits"],
    code: 2,
    err: "has no router_logits sites",
  },
  { name: "patch --sites pattern", args: () => [...PATCH("t4", "t5"), "--sites", "pattern"], code: 1, err: 'unknown site kind "pattern"' },
  // patch answers and prompts
  { name: "--answer of several tokens", args: () => PATCH("t4 t5", "t5"), code: 2, err: "--answer" },
  { name: "--answer id out of vocabulary", args: () => PATCH("#99999", "t5"), code: 2, err: "99999" },
  { name: "--wrong #-1", args: () => PATCH("t4", "#-1"), code: 2, err: 'The text holds "#-"' },
  { name: "--answer empty", args: () => PATCH("", "t5"), code: 1, err: "--answer is required" },
  { name: "--answer equal to --wrong", args: () => PATCH("t5", "t5"), code: 2, err: "are the same token" },
  { name: "--clean empty", args: () => PATCH("t4", "t5", ""), code: 1, err: "--clean is required" },
  { name: "--corrupt of only a piece the vocabulary lacks", args: () => PATCH("t4", "t5", "t1 t2", "%%"), code: 2, err: "cannot encode" },
  // Prompt text
  { name: "empty --text (probe)", args: () => ["probe", "--model", TINY, "--text", ""], code: 2, err: "the prompt has no tokens" },
  { name: "empty --text (generate)", args: () => ["generate", "--model", TINY, "--text", ""], code: 2, err: "The prompt is empty" },
  {
    name: "prompt of only special characters the vocabulary lacks",
    args: () => ["probe", "--model", TINY, "--text", "\u0001\u200b\ufffd🙂"],
    code: 2,
    err: "which this tokenizer cannot encode",
  },
  {
    name: "tokenize text the vocabulary lacks",
    args: () => ["tokenize", "--model", TINY, "--text", "t1 ¿"],
    code: 2,
    err: 'The text holds "¿"',
  },
  {
    name: "--text-file missing",
    args: (d) => [...PROBE.slice(0, 3), "--text-file", path.join(d, "no.txt")],
    code: 2,
    err: "could not be read (ENOENT",
  },
  { name: "--text-file a folder", args: (d) => [...PROBE.slice(0, 3), "--text-file", d], code: 2, err: "is a folder; name a text file" },
  {
    name: "--text-file a binary file",
    args: () => [...PROBE.slice(0, 3), "--text-file", TINY_ONNX],
    code: 2,
    err: "cannot encode",
  },
  {
    name: "--text-file of invalid UTF-8",
    setup: (d) => fs.writeFileSync(path.join(d, "p.txt"), Buffer.from([0x74, 0x31, 0x20, 0xff, 0xfe, 0xc3])),
    args: (d) => ["tokenize", "--model", TINY, "--text-file", path.join(d, "p.txt")],
    code: 2,
    err: "cannot encode",
  },
  {
    name: "--text-file a FIFO is read as it is written",
    setup: (d) => {
      execFileSync("mkfifo", [path.join(d, "p.fifo")]);
      spawn("sh", ["-c", 'sleep 0.2; printf "t1 t2" > "$0"', path.join(d, "p.fifo")], { stdio: "ignore" });
    },
    args: (d) => ["tokenize", "--model", TINY, "--text-file", path.join(d, "p.fifo")],
    code: 0,
    out: '"t2"',
  },
  {
    name: "--text-file /dev/zero, a character device that never ends",
    args: () => [...PROBE.slice(0, 3), "--text-file", "/dev/zero"],
    code: 2,
    err: "is a character device; name a text file",
  },
  {
    name: "100,000-token --text past the model's context",
    setup: (d) => tinyWithConfig(path.join(d, "m"), (c) => (c.max_position_embeddings = 32)),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", Array(100_000).fill("t1").join(" ")],
    code: 2,
    err: "The input has 100000 tokens but m has 32 positions",
  },
  {
    name: "--max-tokens past the context is cut, with a note",
    setup: (d) => tinyWithConfig(path.join(d, "m"), (c) => (c.max_position_embeddings = 8)),
    args: (d) => ["generate", "--model", path.join(d, "m"), "--text", "t1 t2", "--max-tokens", "5000"],
    code: 0,
    err: "--max-tokens 5000 cut to 6: the prompt has 2 tokens and the model has 8 positions",
    out: "t",
  },
  // Model folders and files
  { name: "--model that does not exist", args: (d) => ["info", "--model", path.join(d, "nope")], code: 2, err: "the path does not exist" },
  { name: "--model a folder without onnx", args: (d) => ["info", "--model", d], code: 2, err: "No .onnx file in" },
  {
    name: "--model a text file",
    args: () => ["info", "--model", path.join(TINY, "config.json")],
    code: 2,
    err: "config.json is not an .onnx file",
  },
  {
    name: "empty model.onnx",
    setup: (d) => tinyWithOnnx(path.join(d, "m"), ""),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "model.onnx is not a readable ONNX model",
  },
  {
    name: "model.onnx truncated to 100 bytes",
    setup: (d) => tinyWithOnnx(path.join(d, "m"), fs.readFileSync(TINY_ONNX).subarray(0, 100)),
    args: (d) => ["info", "--model", path.join(d, "m")],
    code: 2,
    err: "The file may be truncated",
  },
  {
    name: "model.onnx of random bytes",
    setup: (d) => tinyWithOnnx(path.join(d, "m"), noise(4096)),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "is not a readable ONNX model",
  },
  {
    name: "a JSON file renamed model.onnx",
    setup: (d) => tinyWithOnnx(path.join(d, "m"), '{"graph": {"node": []}}'),
    args: (d) => ["info", "--model", path.join(d, "m")],
    code: 2,
    err: "is not a readable ONNX model",
  },
  {
    name: "a valid graph that is not a language model",
    setup: (d) => {
      fs.copyFileSync(path.resolve(__dirname, "../../fixtures/local/unsupported/encoder.onnx"), path.join(d, "encoder.onnx"));
      fs.copyFileSync(path.join(TINY, "tokenizer.json"), path.join(d, "tokenizer.json"));
    },
    args: (d) => ["probe", "--model", path.join(d, "encoder.onnx"), "--text", "t1"],
    code: 2,
    err: /logits|language model|decoder/,
  },
  {
    name: "config.json that is not JSON",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      fs.writeFileSync(path.join(d, "m", "config.json"), "{oops");
    },
    args: (d) => ["info", "--model", path.join(d, "m")],
    code: 2,
    err: "config.json is not valid JSON",
  },
  {
    name: "config.json that is an array",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      fs.writeFileSync(path.join(d, "m", "config.json"), "[2, 16]");
    },
    args: (d) => ["info", "--model", path.join(d, "m")],
    code: 2,
    err: "config.json does not hold a JSON object",
  },
  {
    name: "config.json lying about the layer count",
    setup: (d) => tinyWithConfig(path.join(d, "m"), (c) => (c.num_hidden_layers = 5)),
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: "layers: the graph gives 2, config.json num_hidden_layers says 5",
  },
  {
    name: "--config lying about the layer count",
    args: () => [...PROBE, "--config", "num_hidden_layers=7"],
    code: 2,
    err: "config.json num_hidden_layers says 7",
  },
  { name: "--config without =", args: () => ["info", "--model", TINY, "--config", "num_hidden_layers"], code: 1, err: "is not KEY=VALUE" },
  {
    name: "--config giving a count that is not a number",
    args: () => ["info", "--model", TINY, "--config", "num_hidden_layers=abc"],
    code: 2,
    err: "num_hidden_layers is a number in config.json, so the override must be one",
  },
  { name: "--config with no key", args: () => ["info", "--model", TINY, "--config", "=3"], code: 1, err: '"=3" is not KEY=VALUE' },
  {
    name: "crafted llama without softmax: refused by the self-check",
    args: () => ["probe", "--model", path.join(CRAFTED, "llama-no-softmax"), "--text", "t1"],
    code: 2,
    err: "could not confirm the architecture map",
  },
  {
    name: "--variant the folder does not hold",
    args: () => ["info", "--model", TINY, "--variant", "q4"],
    code: 2,
    err: "No q4 variant (model_q4.onnx)",
  },
  {
    name: "tokenizer.json an empty object",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      fs.writeFileSync(path.join(d, "m", "tokenizer.json"), "{}");
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "t1"],
    code: 2,
    err: 'has no "model" section',
  },
  {
    name: "tokenizer.json an array",
    setup: (d) => fs.writeFileSync(path.join(d, "tokenizer.json"), "[]"),
    args: (d) => ["tokenize", "--model", path.join(d, "tokenizer.json"), "--text", "t1"],
    code: 2,
    err: "does not hold a JSON object",
  },
  {
    name: "tokenizer.json with a vocabulary larger than the logits",
    setup: (d) => {
      copyTiny(path.join(d, "m"));
      const file = path.join(d, "m", "tokenizer.json");
      const t = JSON.parse(fs.readFileSync(file, "utf8")) as { model: { vocab: Record<string, number> } };
      for (let i = 0; i < 100; i++) t.model.vocab[`zz${i}`] = 64 + i;
      fs.writeFileSync(file, JSON.stringify(t));
    },
    args: (d) => ["probe", "--model", path.join(d, "m"), "--text", "zz5 t1"],
    code: 2,
    err: "has 164 tokens but the model's logits have 64",
  },
  { name: "--chat on a model without a chat template", args: () => [...GEN, "--chat"], code: 2, err: "has no chat_template" },
  // Steering files
  { name: "--steer file that does not exist", args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")], code: 2, err: "does not exist" },
  { name: "--steer a folder", args: (d) => [...GEN, "--steer", d], code: 2, err: "EISDIR" },
  {
    name: "empty .ivec",
    setup: (d) => fs.writeFileSync(path.join(d, "e.ivec"), ""),
    args: (d) => [...GEN, "--steer", path.join(d, "e.ivec")],
    code: 2,
    err: 'it does not start with "IVEC"',
  },
  {
    name: ".ivec truncated inside its header",
    setup: (d) => {
      ivecWithHeader(path.join(d, "v.ivec"), () => undefined);
      const b = fs.readFileSync(path.join(d, "v.ivec"));
      fs.writeFileSync(path.join(d, "v.ivec"), b.subarray(0, 30));
    },
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: "is truncated",
  },
  {
    name: ".ivec of another width",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), () => undefined, new Float32Array(8).fill(0.5)),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: /8|width/,
  },
  {
    name: ".ivec for a site the model lacks",
    setup: (d) => ivecWithHeader(path.join(d, "v.ivec"), (h) => (h.site = "blocks.9.hook_resid_post")),
    args: (d) => [...GEN, "--steer", path.join(d, "v.ivec")],
    code: 2,
    err: "blocks.9",
  },
  {
    name: "GGUF truncated after its magic",
    setup: (d) => fs.writeFileSync(path.join(d, "t.gguf"), Buffer.from("GGUF\x03\x00\x00", "latin1")),
    args: (d) => [...GEN, "--steer", path.join(d, "t.gguf")],
    code: 2,
    err: "is truncated or is not a GGUF file",
  },
  {
    name: "GGUF direction of another width",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "w.gguf"),
        writeGguf(CV_META, [{ name: "direction.1", dims: [8], data: new Float32Array(8).fill(0.1) }]),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "w.gguf")],
    code: 2,
    err: /8|width/,
  },
  {
    name: "GGUF direction for a layer the model lacks",
    setup: (d) =>
      fs.writeFileSync(
        path.join(d, "l.gguf"),
        writeGguf(CV_META, [{ name: "direction.9", dims: [16], data: new Float32Array(16).fill(0.1) }]),
      ),
    args: (d) => [...GEN, "--steer", path.join(d, "l.gguf")],
    code: 2,
    err: "9",
  },
  // Output files
  {
    name: "--out with the wrong extension",
    args: (d) => [...PROBE, "--out", path.join(d, "x.json")],
    code: 1,
    err: "--out must name a .safetensors file",
  },
  {
    name: "--out under a file",
    args: () => [...PROBE, "--out", path.join(TINY, "config.json", "x.safetensors")],
    code: 2,
    err: "config.json is not a folder",
  },
  {
    name: "patch --out with the wrong extension",
    args: (d) => [...PATCH("t4", "t5"), "--out", path.join(d, "p.txt")],
    code: 1,
    err: "--out must name a .safetensors file",
  },
  // faithfulness
  {
    name: "faithfulness --root that does not exist",
    args: (d) => ["faithfulness", "--root", path.join(d, "r")],
    code: 2,
    err: "r is not a folder",
  },
  {
    name: "faithfulness --zoo that does not exist",
    args: (d) => ["faithfulness", "--zoo", path.join(d, "z")],
    code: 2,
    err: "z is not a folder",
  },
  { name: "faithfulness --zoo without index.json", args: (d) => ["faithfulness", "--zoo", d], code: 2, err: "holds no index.json" },
  {
    name: "faithfulness --zoo whose index.json is not JSON",
    setup: (d) => fs.writeFileSync(path.join(d, "index.json"), "{bad"),
    args: (d) => ["faithfulness", "--zoo", d],
    code: 2,
    err: "index.json could not be read as JSON",
  },
  {
    name: "faithfulness --zoo whose index.json entries are numbers",
    setup: (d) => fs.writeFileSync(path.join(d, "index.json"), '{"gpt2-dynamo": 3}'),
    args: (d) => ["faithfulness", "--zoo", d],
    code: 2,
    err: 'entry "gpt2-dynamo" has no "variant" and "reference" strings',
  },
  {
    name: "faithfulness --root and --zoo together",
    args: () => ["faithfulness", "--root", ZOO, "--zoo", ZOO],
    code: 1,
    err: "give --root or --zoo, not both",
  },
  {
    name: "faithfulness --references without --zoo",
    args: () => ["faithfulness", "--references", ZOO],
    code: 1,
    err: "--references needs --zoo DIR",
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

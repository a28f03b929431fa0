// Crafted model folders for the containment and bad-input tests: a copy of the tiny-llama fixture
// whose .onnx keeps its larger weights as external data at a location the test chooses. Written
// with the engine's own graph writer (writeEdited with an empty edit), so the offsets and lengths in
// the file are the raw_data offsets of the original .onnx: a data file holding the original bytes
// makes a valid model, anything else a broken or hostile one.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { scanModel } from "../../../src/engine/onnx/modelFile";
import { FileBytes } from "../../../src/engine/onnx/wire";
import { create } from "@bufbuild/protobuf";
import { NodeProtoSchema, type NodeProto } from "onnx-buf";
import { writeEdited, type EditPlan } from "../../../src/engine/surgery/surgery";

export const TINY_LLAMA = path.resolve(__dirname, "../../fixtures/local/tiny-llama");

export interface CraftedModel {
  /** The model folder (config.json, tokenizer.json, onnx/model.onnx). */
  dir: string;
  onnx: string;
  /** The original .onnx bytes: what a valid external-data file must hold. */
  original: Buffer;
  /** How many initializers now live in external data. */
  externalCount: number;
}

/** A float32 [4] TensorProto (as onnx-buf init data) whose bytes are external data at `location`. */
function externalTensor(name: string, location: string) {
  return {
    name,
    dims: [4n],
    dataType: 1,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: "0" },
      { key: "length", value: "16" },
    ],
    dataLocation: 1,
  };
}

/**
 * Extra nodes that hide external data where graph.initializer is not: a Constant whose value
 * attribute is external, and a node whose subgraph attribute has an external initializer.
 */
export function hiddenExternalNodes(location: string): { attribute: NodeProto; subgraph: NodeProto; sparse: NodeProto } {
  return {
    attribute: create(NodeProtoSchema, {
      opType: "Constant",
      name: "hidden_constant",
      output: ["hidden_constant_out"],
      attribute: [{ name: "value", type: 4, t: externalTensor("hidden_value", location) }],
    }),
    subgraph: create(NodeProtoSchema, {
      opType: "Scan",
      name: "hidden_scan",
      output: ["hidden_scan_out"],
      attribute: [{ name: "body", type: 5, g: { name: "body", initializer: [externalTensor("hidden_body_weight", location)] } }],
    }),
    sparse: create(NodeProtoSchema, {
      opType: "Constant",
      name: "hidden_sparse",
      output: ["hidden_sparse_out"],
      attribute: [
        {
          name: "sparse_value",
          type: 11,
          sparseTensor: { values: externalTensor("hidden_sparse_values", location), indices: { dims: [4n], dataType: 7 }, dims: [8n] },
        },
      ],
    }),
  };
}

/** Copies tiny-llama to `dest` and adds `nodes` to its graph (written with the engine's writer). */
export function craftModelWithNodes(dest: string, nodes: NodeProto[]): string {
  fs.cpSync(TINY_LLAMA, dest, { recursive: true, filter: (s) => !s.includes("reference") && !s.includes(".introspect-") });
  fs.rmSync(path.join(dest, "onnx", "model_fp16.onnx"), { force: true });
  const onnx = path.join(dest, "onnx", "model.onnx");
  const src = new FileBytes(onnx);
  let chunks: Uint8Array[];
  try {
    const plan: EditPlan = { changed: new Map(), added: nodes, newInputs: [], outputs: new Map() };
    chunks = writeEdited(scanModel(onnx, src, 0), src, plan, null);
  } finally {
    src.close();
  }
  fs.writeFileSync(onnx, Buffer.concat(chunks));
  return onnx;
}

/** Copies tiny-llama to `dest` and rewrites its .onnx so that its large weights are read from `location`. */
export function craftExternalModel(dest: string, location: string): CraftedModel {
  fs.cpSync(TINY_LLAMA, dest, { recursive: true, filter: (s) => !s.includes("reference") && !s.includes(".introspect-") });
  fs.rmSync(path.join(dest, "onnx", "model_fp16.onnx"), { force: true });
  const onnx = path.join(dest, "onnx", "model.onnx");
  const original = fs.readFileSync(onnx);
  const src = new FileBytes(onnx);
  let chunks: Uint8Array[];
  try {
    const m = scanModel(onnx, src, 0);
    const plan: EditPlan = { changed: new Map(), added: [], newInputs: [], outputs: new Map() };
    chunks = writeEdited(m, src, plan, location);
  } finally {
    src.close();
  }
  fs.writeFileSync(onnx, Buffer.concat(chunks));
  const check = new FileBytes(onnx);
  let externalCount = 0;
  try {
    const m = scanModel(onnx, check, 0);
    externalCount = [...m.initializers.values()].filter((t) => t.external?.location === location).length;
  } finally {
    check.close();
  }
  assert.ok(externalCount > 0, "the crafted model must keep some weights in external data");
  return { dir: dest, onnx, original, externalCount };
}

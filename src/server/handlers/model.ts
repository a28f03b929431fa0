// introspect/configure and introspect/modelInfo: open the configured ONNX model and describe it.
// This is the skeleton's own loader; the engine's loader can take over `configure` later.
import * as fs from "fs";
import * as path from "path";
import { ConfigureRequest, ModelInfoRequest, type IoName, type ModelInfoResult } from "../../protocol/lsp";
import { mallocTuned } from "../../engine/model/mallocTuning";
import { checkModelFiles, readModelText } from "../../engine/model/modelFiles";
import type { ModelInfo } from "../../engine/types";
import type { HostContext } from "../context";

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(ConfigureRequest.type, async (params) => {
    await closeModel(ctx);
    if (!params.modelPath) {
      ctx.setState({ kind: "none" });
      return ctx.getState();
    }
    ctx.setState({ kind: "loading", path: params.modelPath });
    try {
      const onnxFile = resolveOnnxFile(params.modelPath, params.variant);
      // Before onnxruntime opens anything: a regular file of bounded size, external data inside its folder.
      checkModelFiles(onnxFile);
      const ort = await ctx.ort();
      const session = await ort.InferenceSession.create(onnxFile);
      ctx.setModel({ modelPath: params.modelPath, onnxFile, session });
      ctx.setState({ kind: "ready", path: params.modelPath, info: describe(params.modelPath, onnxFile, session.inputNames) });
      ctx.log(`Loaded ${onnxFile}`);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      ctx.log(`Failed to load ${params.modelPath}: ${reason}`);
      ctx.setState({ kind: "failed", path: params.modelPath, reason });
    }
    return ctx.getState();
  });

  ctx.connection.onRequest(ModelInfoRequest.type, async (): Promise<ModelInfoResult> => {
    const ort = await ctx.ort();
    const model = ctx.getModel();
    const state = ctx.getState();
    const result: ModelInfoResult = {
      ortVersion: ort.env.versions.node ?? ort.env.versions.common,
      modelPath: state.kind === "none" ? "" : state.path,
      inputs: [],
      outputs: [],
      state,
      hostPid: process.pid,
      mallocTuned: mallocTuned(),
    };
    if (model) {
      result.onnxFile = model.onnxFile;
      result.inputs = model.session.inputMetadata.map(toIoName);
      result.outputs = model.session.outputMetadata.map(toIoName);
    }
    return result;
  });
}

async function closeModel(ctx: HostContext): Promise<void> {
  const model = ctx.getModel();
  ctx.setModel(undefined);
  if (model) await model.session.release().catch(() => undefined);
}

function toIoName(m: { name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> }): IoName {
  return { name: m.name, type: m.isTensor ? (m.type ?? "") : "", dims: m.shape ? [...m.shape] : [] };
}

/** A folder (Optimum layout, or a folder with model.onnx) or a single .onnx file. */
export function resolveOnnxFile(modelPath: string, variant: string): string {
  if (!fs.existsSync(modelPath)) {
    throw new Error(`Model not found at ${modelPath}: set introspect.model to a model folder or an .onnx file.`);
  }
  if (fs.statSync(modelPath).isFile()) {
    if (!modelPath.endsWith(".onnx"))
      throw new Error(`${modelPath} is not an .onnx file: set introspect.model to a model folder or an .onnx file.`);
    return modelPath;
  }
  const name = `${variant || "model"}.onnx`;
  for (const candidate of [path.join(modelPath, "onnx", name), path.join(modelPath, name)]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`No ${name} in ${modelPath} or its onnx/ folder: check introspect.model and introspect.variant.`);
}

/** Best-effort description from config.json until the engine's architecture map replaces it. */
function describe(modelPath: string, onnxFile: string, inputNames: readonly string[]): ModelInfo {
  const dir = fs.statSync(modelPath).isFile() ? path.dirname(modelPath) : modelPath;
  let config: Record<string, unknown> = {};
  try {
    config = JSON.parse(readModelText(path.join(dir, "config.json"), "config.json")) as Record<string, unknown>;
  } catch {
    // No or unreadable config.json: the numbers stay 0 and a note says why.
  }
  const num = (k: string): number => (typeof config[k] === "number" ? (config[k] as number) : 0);
  const archs = config.architectures;
  return {
    id: `${path.basename(dir)}/${path.basename(onnxFile, ".onnx")}`,
    architecture: Array.isArray(archs) && typeof archs[0] === "string" ? archs[0] : String(config.model_type ?? "unknown"),
    numLayers: num("num_hidden_layers") || num("n_layer"),
    dModel: num("hidden_size") || num("n_embd"),
    vocabSize: num("vocab_size"),
    sites: [],
    hasKvCache: inputNames.some((n) => n.startsWith("past_key_values")),
    exportStyle: "unknown",
    notes: Object.keys(config).length ? [] : ["config.json not found next to the model"],
  };
}

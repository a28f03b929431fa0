// introspect/configure and introspect/modelInfo: open the configured model with the engine (the
// architecture map and its self-check run here, so a model whose map cannot be confirmed fails at
// configure time with the refusal sentence, not at the first probe) and describe it.
import * as fs from "fs";
import * as path from "path";
import { ClearCacheRequest, ConfigureRequest, ModelInfoRequest, type IoName, type ModelInfoResult } from "../../protocol/lsp";
import { mallocTuned } from "../../launch/mallocTuning";
import { elemType, shapeOf } from "../../engine";
import { checkTokenizerFits } from "../../engine";
import { clearCache, defaultCacheDir } from "../../engine";
import { resolveModelPath, VARIANTS } from "../../engine";
import type { HostContext } from "../context";

export function register(ctx: HostContext): void {
  ctx.connection.onRequest(ConfigureRequest.type, async (params) => {
    if (params.cacheMaxBytes && params.cacheMaxBytes > 0) process.env.INTROSPECT_CACHE_MAX_BYTES = String(params.cacheMaxBytes);
    await closeModel(ctx);
    if (!params.modelPath) {
      ctx.setState({ kind: "none" });
      return ctx.getState();
    }
    ctx.setState({ kind: "loading", path: params.modelPath });
    try {
      const onnxFile = resolveOnnxFile(params.modelPath, params.variant);
      ctx.setModel({ modelPath: params.modelPath, onnxFile, executionProvider: params.executionProvider });
      const engine = await ctx.engine.get();
      // The tokenizer is validated now too, so a broken one fails here rather than at the first probe.
      checkTokenizerFits(engine, await ctx.engine.tokenizer(engine));
      // Only now the first session (it writes the edited graph beside the model): nothing is written
      // for a model whose graph or tokenizer was refused. onnxruntime's load errors still surface here.
      // It is the probe's session: every site exposed, the head applied to the last position only.
      await engine.session([], [], { lastLogits: true });
      if (ctx.getModel()?.onnxFile !== onnxFile) return ctx.getState(); // configured again meanwhile
      ctx.setState({ kind: "ready", path: params.modelPath, info: engine.info });
      ctx.log(
        `Loaded ${onnxFile}: ${engine.info.numLayers} layers, map confirmed by ${engine.info.checks?.length ?? 0} checks, on ${engine.provider.used}`,
      );
      if (engine.provider.fallback) {
        ctx.log(engine.provider.fallback);
        void ctx.connection.window.showWarningMessage(`Introspect: ${engine.provider.fallback}`);
      }
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      ctx.log(`Failed to load ${params.modelPath}: ${reason}`);
      ctx.setModel(undefined);
      ctx.setState({ kind: "failed", path: params.modelPath, reason });
    }
    return ctx.getState();
  });

  ctx.connection.onRequest(ClearCacheRequest.type, async () => {
    // Open sessions keep their files open; the next edit set writes afresh.
    const dir = defaultCacheDir();
    return { dir, ...clearCache(dir) };
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
    const engine = model ? ctx.engine.current() : undefined;
    if (model && engine) {
      result.onnxFile = model.onnxFile;
      result.inputs = engine.scanned.inputs.filter((i) => !engine.scanned.initializers.has(i.name)).map(toIoName);
      result.outputs = engine.scanned.outputs.map(toIoName);
      result.info = engine.info;
    }
    return result;
  });
}

async function closeModel(ctx: HostContext): Promise<void> {
  // The engine model of the old one is disposed by ctx.engine when the next model opens.
  ctx.setModel(undefined);
}

const TYPES: Record<number, string> = { 1: "float32", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64", 16: "bfloat16" };

function toIoName(v: Parameters<typeof elemType>[0]): IoName {
  const t = elemType(v);
  return {
    name: v.name,
    type: TYPES[t] ?? (t ? `type ${t}` : ""),
    dims: (shapeOf(v) ?? []).map((d) => (typeof d === "number" ? d : String(d))),
  };
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
  // No variant: the engine's choice (model.onnx, else a merged decoder, ...); a variant is a file name
  // without .onnx (model_fp16, decoder_model_merged_q4) or a Transformers.js variant name (fp16, q4).
  if (!variant) return resolveModelPath(modelPath).onnxPath;
  const name = `${variant}.onnx`;
  for (const candidate of [path.join(modelPath, "onnx", name), path.join(modelPath, name)]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  if (variant in VARIANTS) return resolveModelPath(modelPath, variant).onnxPath;
  throw new Error(`No ${name} in ${modelPath} or its onnx/ folder: check introspect.model and introspect.variant.`);
}

// The model the host is configured with (what the user set), shared by the context and the engine access.

/** The model the host is configured with, if any; the engine opens it (ctx.engine). */
export interface LoadedModel {
  /** What the user configured: a model folder or a single .onnx file. */
  modelPath: string;
  /** The .onnx file actually opened. */
  onnxFile: string;
  /** introspect.executionProvider as configured (the engine falls back to CPU when it cannot start). */
  executionProvider?: string;
}

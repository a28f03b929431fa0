// What every host handler receives: the connection, open documents, the model's state and
// lazy access to onnxruntime. Handlers live in src/server/handlers/*.ts and export
// `register(ctx: HostContext)`; language features for prompt files live in src/server/language.
import type { Connection } from "vscode-languageserver/node";
import type { TextDocuments } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { ModelState } from "../engine/types";
import type * as Ort from "onnxruntime-node";
import type { EngineModelAccess } from "./engineModel";

export type OrtModule = typeof Ort;

/** The model the host is configured with, if any; the engine opens it (ctx.engine). */
export interface LoadedModel {
  /** What the user configured: a model folder or a single .onnx file. */
  modelPath: string;
  /** The .onnx file actually opened. */
  onnxFile: string;
}

export interface HostContext {
  readonly connection: Connection;
  readonly documents: TextDocuments<TextDocument>;
  /** Loads onnxruntime-node on first use (it is large; the host starts without it). */
  ort(): Promise<OrtModule>;
  getState(): ModelState;
  /** Sets the state and sends introspect/status to the client. */
  setState(state: ModelState): void;
  getModel(): LoadedModel | undefined;
  setModel(model: LoadedModel | undefined): void;
  /** Writes to the "Introspect Model Host" output channel. */
  log(message: string): void;
  /** The engine model of the current model, shared by handlers (one open per model, not one per feature). */
  readonly engine: EngineModelAccess;
}

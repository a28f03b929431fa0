// What every host handler receives: the connection, open documents, the model's state and
// lazy access to onnxruntime. Handlers live in src/server/handlers/*.ts and export
// `register(ctx: HostContext)`; language features for prompt files live in src/server/language.
import type { Connection } from "vscode-languageserver/node";
import type { TextDocuments } from "vscode-languageserver/node";
import type { TextDocument } from "vscode-languageserver-textdocument";
import type { ModelState } from "../engine";
import type * as Ort from "onnxruntime-node";
import type { EngineModelAccess } from "./engineModel";
import type { LoadedModel } from "./hostModel";

export type OrtModule = typeof Ort;

export type { LoadedModel } from "./hostModel";

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

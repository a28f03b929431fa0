// The model host: a language server process started by the extension over IPC. It owns
// onnxruntime and the model so a slow or crashing forward pass never touches the editor.
// Extension points: src/server/handlers/*.ts (listed in handlers/index.ts) and
// src/server/language/index.ts (`registerLanguageFeatures(ctx)`, features for prompt files).
import { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { StatusNotification } from "../protocol/lsp";
import type { ModelState } from "../engine/types";
import type { HostContext, LoadedModel, OrtModule } from "./context";
import { handlerModules } from "./handlers";
import { builtVectors } from "./handlers/steer";
import { LANGUAGE_CAPABILITIES, registerLanguageFeatures, type LanguageFeatures } from "./language";

const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

let state: ModelState = { kind: "none" };
let model: LoadedModel | undefined;
let ortPromise: Promise<OrtModule> | undefined;
// Filled once the features are registered; setState may run before that.
const language: { features?: LanguageFeatures } = {};

const ctx: HostContext = {
  connection,
  documents,
  ort: () => (ortPromise ??= import("onnxruntime-node")),
  getState: () => state,
  setState(next) {
    state = next;
    void connection.sendNotification(StatusNotification.type, next);
    // Prompt-file checks depend on the model (tokenizer, layer count): recompute them.
    language.features?.refresh();
  },
  getModel: () => model,
  setModel(next) {
    model = next;
  },
  log: (message) => connection.console.log(message),
};

connection.onInitialize(() => ({
  capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental, ...LANGUAGE_CAPABILITIES },
  serverInfo: { name: "Introspect model host" },
}));
connection.onInitialized(() => ctx.setState(state));

for (const m of handlerModules) m.register(ctx);
// Lenses show "Open in steering panel" for contrast blocks whose vector the steering handler built.
language.features = registerLanguageFeatures({ ...ctx, facadeExtras: { builtVector: (uri, name) => builtVectors.get(uri, name) } });

documents.listen(connection);
connection.listen();

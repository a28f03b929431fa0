// The model host: a language server process started by the extension over IPC. It owns
// onnxruntime and the model so a slow or crashing forward pass never touches the editor.
// Extension points: src/server/handlers/*.ts (listed in handlers/index.ts) and
// src/server/language/index.ts (`registerLanguageFeatures(ctx)`, features for prompt files).
import { disableOrtTelemetry } from "../launch/ortTelemetry";
import { createConnection, ProposedFeatures, TextDocuments, TextDocumentSyncKind } from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { StatusNotification } from "../protocol/lsp";
import { channelIsBinary, useBinaryWire, withTextFallback } from "../protocol/wire";
import type { ModelState } from "../engine";
import type { HostContext, LoadedModel, OrtModule } from "./context";
import { createEngineModelAccess } from "./engineModel";
import { handlerModules } from "./handlers";
import { probeValues } from "./handlers/probe";
import { builtVectors } from "./handlers/steer";
import { LANGUAGE_CAPABILITIES, registerLanguageFeatures, type LanguageFeatures } from "./language";
import { engineFacadeCache } from "./language/hostFacade";
import { ShiftScoreStore } from "./shiftScores";
import { traceRequests } from "./trace";

// Before onnxruntime is loaded (ctx.ort() loads it on first use): no telemetry database in ~/.cache.
disableOrtTelemetry();
const connection = createConnection(ProposedFeatures.all);
// Started by the extension over IPC with V8 serialisation (hostClient.ts): tensors cross as bytes.
// On stdio (the tests' host) they cross as base64 text (src/protocol/wire.ts).
if (channelIsBinary()) {
  useBinaryWire(true);
  process.send = withTextFallback(process.send!.bind(process)) as typeof process.send;
}
const documents = new TextDocuments(TextDocument);

let state: ModelState = { kind: "none" };
let model: LoadedModel | undefined;
let ortPromise: Promise<OrtModule> | undefined;
// Filled once the features are registered; setState may run before that.
const language: { features?: LanguageFeatures } = {};
// Shared by the probe handler and the prompt-file features; a newly opened model refines the
// prompt-file checks (the engine finds the model's sites), so they are recomputed then.
const engine = createEngineModelAccess({
  getModel: () => model,
  getState: () => state,
  onOpened: () => language.features?.refresh(),
});

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
  engine,
};

connection.onInitialize(() => ({
  capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental, ...LANGUAGE_CAPABILITIES },
  serverInfo: { name: "Introspect model host" },
}));
connection.onInitialized(() => ctx.setState(state));

if (process.env.INTROSPECT_TRACE) traceRequests(connection, ctx.log);
for (const m of handlerModules) m.register(ctx);
// Prompt-file features: once the shared engine model is open, a facade over it (next-token
// hints, probe values in hovers, built vectors on lenses); before that the tokenizer facade with
// the same stores, whose next-token hint opens the engine model on first use.
const engineFacade = engineFacadeCache(engine, { probes: probeValues, vectors: builtVectors });
const shiftScores = new ShiftScoreStore(engine, () => language.features?.refresh(), ctx.log);
language.features = registerLanguageFeatures({
  ...ctx,
  languageModel: () => engineFacade.current(),
  shiftScores: (uri, file) => shiftScores.get(uri, file),
  facadeExtras: {
    builtVector: (uri, name) => builtVectors.get(uri, name),
    probeValues: (text, i) => probeValues.get(text, i),
    predictNext: async (text, cancel) => (await engineFacade.open()).predictNext!(text, cancel),
  },
});

documents.listen(connection);
connection.listen();

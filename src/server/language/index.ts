// Language features for prompt files (`*.introspect`), served by the model host: diagnostics,
// code lenses, hover, inlay hints, completion and the outline. The host calls
// registerLanguageFeatures(ctx) once and merges LANGUAGE_CAPABILITIES into its capabilities.
import { DidChangeConfigurationNotification, type CancellationToken, type ServerCapabilities } from "vscode-languageserver";
import { computeCodeLenses } from "./codeLens";
import { computeCompletions } from "./completion";
import { computeDiagnostics } from "./diagnostics";
import { computeHover } from "./hover";
import { onStoresChanged } from "./engineFacade";
import { MAX_PROMPT_FILE_CHARS, PromptDocuments, type LanguageHost } from "./documents";
import { computeInlayHints } from "./inlayHints";
import { shiftDiagnostics, shiftLenses } from "./shift";
import { computeFoldingRanges, computeSymbols } from "./symbols";

export type { LanguageModelFacade, LanguageSettings } from "./facade";
export { BuiltVectorStore, ProbeValueStore, createEngineFacade } from "./engineFacade";

export const LANGUAGE_CAPABILITIES: ServerCapabilities = {
  codeLensProvider: { resolveProvider: false },
  hoverProvider: true,
  completionProvider: { triggerCharacters: [" "] },
  documentSymbolProvider: true,
  foldingRangeProvider: true,
  inlayHintProvider: { resolveProvider: false },
};

export type { LanguageHost } from "./documents";

export interface LanguageFeatures {
  /** Recompute diagnostics and ask the client to refresh lenses and hints (call after a model loads, a probe or a vector build). */
  refresh(): void;
}

const DEBOUNCE_MS = 200;
export { MAX_PROMPT_FILE_CHARS };

export function registerLanguageFeatures(ctx: LanguageHost): LanguageFeatures {
  const docs = new PromptDocuments(ctx, () => events.refresh());
  const events = watchDocuments(ctx, docs);
  // A probe or a vector build recorded in a store changes hovers and lenses.
  onStoresChanged(() => events.refresh());
  answerRequests(ctx, docs);
  active = { refresh: events.refresh };
  return active;
}

/** Diagnostics on every change (debounced), and the document and settings events that invalidate the caches. */
function watchDocuments(ctx: LanguageHost, docs: PromptDocuments): LanguageFeatures {
  const { connection, documents } = ctx;
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  async function validate(uri: string): Promise<void> {
    const doc = documents.get(uri);
    if (!doc || !docs.isPromptFile(doc)) return;
    if (docs.tooLarge(doc)) {
      const mb = (doc.getText().length / 1e6).toFixed(1);
      const message = `This prompt file has ${mb} million characters; prompt-file features (lenses, hovers, hints, diagnostics) stop at ${MAX_PROMPT_FILE_CHARS / 1e6} million. Split it into smaller files.`;
      const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
      void connection.sendDiagnostics({ uri, version: doc.version, diagnostics: [{ range, severity: 2, source: "introspect", message }] });
      return;
    }
    const file = docs.fileOf(doc);
    const facade = docs.facadeFor(uri, file);
    const diagnostics = [
      ...computeDiagnostics(file, facade, await docs.settingsFor(uri)),
      ...shiftDiagnostics(file, ctx.shiftScores?.(uri, file)),
    ];
    if (documents.get(uri)?.version === doc.version) void connection.sendDiagnostics({ uri, version: doc.version, diagnostics });
  }
  const schedule = (uri: string) => {
    clearTimeout(timers.get(uri));
    timers.set(
      uri,
      setTimeout(() => void validate(uri).catch((e: Error) => ctx.log(`Prompt-file diagnostics failed: ${e.message}`)), DEBOUNCE_MS),
    );
  };
  function refresh(): void {
    for (const doc of documents.all()) if (docs.isPromptFile(doc)) schedule(doc.uri);
    // Clients that do not support refresh requests reject them; nothing to do then.
    connection.languages.inlayHint.refresh().catch(() => undefined);
    connection.sendRequest("workspace/codeLens/refresh").catch(() => undefined);
  }

  documents.onDidChangeContent((e) => schedule(e.document.uri));
  // Ask the client for introspect.* change notifications once it is initialised (the first open
  // comes after that); the host's onInitialized handler is its own, so this does not replace it.
  let registered = false;
  documents.onDidOpen((e) => {
    if (registered || !docs.isPromptFile(e.document)) return;
    registered = true;
    try {
      connection.client.register(DidChangeConfigurationNotification.type, { section: "introspect" }).catch(() => undefined);
    } catch {
      // a client without dynamic registration: the settings cache expiry covers it
    }
  });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    docs.forget(e.document.uri);
    if (docs.isPromptFile(e.document)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  // The connection has one handler per notification; the host registers no other for this one.
  connection.onDidChangeConfiguration(() => {
    docs.clearSettings();
    refresh();
  });
  return { refresh };
}

/** Lenses, hovers, completion, the outline, folding and inlay hints. */
function answerRequests(ctx: LanguageHost, docs: PromptDocuments): void {
  const { connection, documents } = ctx;
  connection.onCodeLens((p) =>
    docs.withDoc(p.textDocument.uri, [], (_d, file) => [
      ...computeCodeLenses(p.textDocument.uri, file, docs.facadeFor(p.textDocument.uri, file)),
      ...shiftLenses(file, ctx.shiftScores?.(p.textDocument.uri, file)),
    ]),
  );
  connection.onHover((p) =>
    docs.withDoc(p.textDocument.uri, null, (_d, file) => computeHover(file, p.position, docs.facadeFor(p.textDocument.uri, file)) ?? null),
  );
  connection.onCompletion((p) =>
    docs.withDoc(p.textDocument.uri, [], (doc, file) => {
      const line = doc
        .getText({ start: { line: p.position.line, character: 0 }, end: { line: p.position.line + 1, character: 0 } })
        .replace(/\r?\n$/, "");
      return computeCompletions(file, line, p.position, docs.facadeFor(p.textDocument.uri, file));
    }),
  );
  connection.onDocumentSymbol((p) => docs.withDoc(p.textDocument.uri, [], (_d, file) => computeSymbols(file)));
  connection.onFoldingRanges((p) => docs.withDoc(p.textDocument.uri, [], (_d, file) => computeFoldingRanges(file)));
  connection.languages.inlayHint.on(async (p, token: CancellationToken) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc || !docs.isPromptFile(doc) || docs.tooLarge(doc)) return [];
    const file = docs.fileOf(doc);
    return computeInlayHints(file, p.range, docs.facadeFor(doc.uri, file), await docs.settingsFor(doc.uri), token);
  });
}

let active: LanguageFeatures | undefined;

/** For host handlers: recompute prompt-file diagnostics and ask for fresh lenses and hints. */
export function refreshLanguageFeatures(): void {
  active?.refresh();
}

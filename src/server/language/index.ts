// Language features for prompt files (`*.introspect`), served by the model host: diagnostics,
// code lenses, hover, inlay hints, completion and the outline. The host calls
// registerLanguageFeatures(ctx) once and merges LANGUAGE_CAPABILITIES into its capabilities.
import {
  DidChangeConfigurationNotification,
  type CancellationToken,
  type Connection,
  type ServerCapabilities,
  type TextDocuments,
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { FILE_EXTENSION, LANGUAGE_ID, parsePromptFile, type PromptFile } from "../../engine";
import type { ModelState } from "../../engine";
import { computeCodeLenses } from "./codeLens";
import { computeCompletions } from "./completion";
import { computeDiagnostics } from "./diagnostics";
import { DEFAULT_SETTINGS, type LanguageModelFacade, type LanguageSettings } from "./facade";
import { computeHover } from "./hover";
import { onStoresChanged } from "./engineFacade";
import { TokenizerFacade } from "./hostFacade";
import { computeInlayHints } from "./inlayHints";
import { shiftDiagnostics, shiftLenses, type ShiftScores } from "./shift";
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

/** What the features need from the host; HostContext (src/server/context.ts) provides the first four. */
export interface LanguageHost {
  readonly connection: Connection;
  readonly documents: TextDocuments<TextDocument>;
  getState(): ModelState;
  log(message: string): void;
  /** The host's own facade (predictions, probe values, built vectors); undefined or absent: the tokenizer facade with facadeExtras. */
  languageModel?(uri: string, fileModel: string | undefined): LanguageModelFacade | undefined;
  /** Added to the default tokenizer facade, used when `languageModel` is absent or returns undefined. */
  facadeExtras?: Partial<Pick<LanguageModelFacade, "predictNext" | "probeValues" | "builtVector" | "knownModels">>;
  /** Activation-shift scores of a file's prompts (files with a `shift-reference` option). */
  shiftScores?(uri: string, file: PromptFile): ShiftScores | undefined;
}

export interface LanguageFeatures {
  /** Recompute diagnostics and ask the client to refresh lenses and hints (call after a model loads, a probe or a vector build). */
  refresh(): void;
}

const DEBOUNCE_MS = 200;
/** Prompt files past this many characters get one diagnostic and no other features: parsing and
 * tokenising a 20 MB file for code lenses took 23 s and 1 GB. */
export const MAX_PROMPT_FILE_CHARS = 1_000_000;
const SETTINGS_TTL_MS = 10_000;

export function registerLanguageFeatures(ctx: LanguageHost): LanguageFeatures {
  const { connection, documents } = ctx;
  const parsed = new Map<string, { version: number; file: PromptFile }>();
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const settingsCache = new Map<string, { at: number; value: Promise<LanguageSettings> }>();
  const tokenizer = new TokenizerFacade(ctx.getState, () => refresh(), ctx.log);
  const extras = ctx.facadeExtras ?? {};
  const tokenizerFacade: LanguageModelFacade = {
    info: () => tokenizer.info(),
    tokenize: (text) => tokenizer.tokenize(text),
    ...extras,
  };
  // A probe or a vector build recorded in a store changes hovers and lenses.
  onStoresChanged(() => refresh());

  const isPromptFile = (doc: TextDocument) => doc.languageId === LANGUAGE_ID || doc.uri.endsWith(FILE_EXTENSION);
  const tooLarge = (doc: TextDocument) => doc.getText().length > MAX_PROMPT_FILE_CHARS;
  const fileOf = (doc: TextDocument): PromptFile => {
    const hit = parsed.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.file;
    const file = parsePromptFile(doc.getText());
    parsed.set(doc.uri, { version: doc.version, file });
    return file;
  };
  // The host's facade when it has one ready (an opened engine model), else the tokenizer facade.
  const facadeFor = (uri: string, file: PromptFile) => ctx.languageModel?.(uri, file.options.model?.value) ?? tokenizerFacade;
  // Settings are cached briefly: change notifications need the client's cooperation (registered
  // below), and the expiry keeps a client without them from seeing stale values for long.
  const settingsFor = (uri: string): Promise<LanguageSettings> => {
    const hit = settingsCache.get(uri);
    if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.value;
    const value = readSettings(connection, uri);
    settingsCache.set(uri, { at: Date.now(), value });
    return value;
  };
  const withDoc = <T>(uri: string, empty: T, f: (doc: TextDocument, file: PromptFile) => T): T => {
    const doc = documents.get(uri);
    return doc && isPromptFile(doc) && !tooLarge(doc) ? f(doc, fileOf(doc)) : empty;
  };

  async function validate(uri: string): Promise<void> {
    const doc = documents.get(uri);
    if (!doc || !isPromptFile(doc)) return;
    if (tooLarge(doc)) {
      const mb = (doc.getText().length / 1e6).toFixed(1);
      const message = `This prompt file has ${mb} million characters; prompt-file features (lenses, hovers, hints, diagnostics) stop at ${MAX_PROMPT_FILE_CHARS / 1e6} million. Split it into smaller files.`;
      const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
      void connection.sendDiagnostics({ uri, version: doc.version, diagnostics: [{ range, severity: 2, source: "introspect", message }] });
      return;
    }
    const file = fileOf(doc);
    const facade = facadeFor(uri, file);
    const diagnostics = [
      ...computeDiagnostics(file, facade, await settingsFor(uri)),
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
    for (const doc of documents.all()) if (isPromptFile(doc)) schedule(doc.uri);
    // Clients that do not support refresh requests reject them; nothing to do then.
    connection.languages.inlayHint.refresh().catch(() => undefined);
    connection.sendRequest("workspace/codeLens/refresh").catch(() => undefined);
  }

  documents.onDidChangeContent((e) => schedule(e.document.uri));
  // Ask the client for introspect.* change notifications once it is initialised (the first open
  // comes after that); the host's onInitialized handler is its own, so this does not replace it.
  let registered = false;
  documents.onDidOpen((e) => {
    if (registered || !isPromptFile(e.document)) return;
    registered = true;
    try {
      connection.client.register(DidChangeConfigurationNotification.type, { section: "introspect" }).catch(() => undefined);
    } catch {
      // a client without dynamic registration: the settings cache expiry covers it
    }
  });
  documents.onDidClose((e) => {
    clearTimeout(timers.get(e.document.uri));
    parsed.delete(e.document.uri);
    settingsCache.delete(e.document.uri);
    if (isPromptFile(e.document)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });
  // The connection has one handler per notification; the host registers no other for this one.
  connection.onDidChangeConfiguration(() => {
    settingsCache.clear();
    refresh();
  });

  connection.onCodeLens((p) =>
    withDoc(p.textDocument.uri, [], (_d, file) => [
      ...computeCodeLenses(p.textDocument.uri, file, facadeFor(p.textDocument.uri, file)),
      ...shiftLenses(file, ctx.shiftScores?.(p.textDocument.uri, file)),
    ]),
  );
  connection.onHover((p) =>
    withDoc(p.textDocument.uri, null, (_d, file) => computeHover(file, p.position, facadeFor(p.textDocument.uri, file)) ?? null),
  );
  connection.onCompletion((p) =>
    withDoc(p.textDocument.uri, [], (doc, file) => {
      const line = doc
        .getText({ start: { line: p.position.line, character: 0 }, end: { line: p.position.line + 1, character: 0 } })
        .replace(/\r?\n$/, "");
      return computeCompletions(file, line, p.position, facadeFor(p.textDocument.uri, file));
    }),
  );
  connection.onDocumentSymbol((p) => withDoc(p.textDocument.uri, [], (_d, file) => computeSymbols(file)));
  connection.onFoldingRanges((p) => withDoc(p.textDocument.uri, [], (_d, file) => computeFoldingRanges(file)));
  connection.languages.inlayHint.on(async (p, token: CancellationToken) => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc || !isPromptFile(doc) || tooLarge(doc)) return [];
    const file = fileOf(doc);
    return computeInlayHints(file, p.range, facadeFor(doc.uri, file), await settingsFor(doc.uri), token);
  });

  active = { refresh };
  return active;
}

let active: LanguageFeatures | undefined;

/** For host handlers: recompute prompt-file diagnostics and ask for fresh lenses and hints. */
export function refreshLanguageFeatures(): void {
  active?.refresh();
}

async function readSettings(connection: Connection, uri: string): Promise<LanguageSettings> {
  try {
    const c = (await connection.workspace.getConfiguration({ scopeUri: uri, section: "introspect" })) as Record<string, unknown> | null;
    const inlay = (c?.inlayHints as Record<string, unknown> | undefined)?.nextToken;
    const max = (c?.promptFile as Record<string, unknown> | undefined)?.maxTokens;
    return {
      inlayNextToken: typeof inlay === "boolean" ? inlay : DEFAULT_SETTINGS.inlayNextToken,
      maxPromptTokens: typeof max === "number" && max > 0 ? max : DEFAULT_SETTINGS.maxPromptTokens,
    };
  } catch {
    return DEFAULT_SETTINGS; // a client without workspace/configuration
  }
}

// The prompt files the host has open: each parsed once per version, the language-model facade that
// answers for it, and its settings (cached briefly). Shared by diagnostics and the request handlers.
import type { Connection, TextDocuments } from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { FILE_EXTENSION, LANGUAGE_ID, parsePromptFile, type ModelState, type PromptFile } from "../../engine";
import { DEFAULT_SETTINGS, type LanguageModelFacade, type LanguageSettings } from "./facade";
import { TokenizerFacade } from "./hostFacade";
import type { ShiftScores } from "./shift";

/** Prompt files past this many characters get one diagnostic and no other features: parsing and
 * tokenising a 20 MB file for code lenses took 23 s and 1 GB. */
export const MAX_PROMPT_FILE_CHARS = 1_000_000;
const SETTINGS_TTL_MS = 10_000;

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

export class PromptDocuments {
  private readonly parsed = new Map<string, { version: number; file: PromptFile }>();
  private readonly settingsCache = new Map<string, { at: number; value: Promise<LanguageSettings> }>();
  private readonly tokenizerFacade: LanguageModelFacade;

  /** `onTokenizerReady`: the tokenizer facade has loaded the model's tokenizer (lenses and hints change). */
  constructor(
    private readonly ctx: LanguageHost,
    onTokenizerReady: () => void,
  ) {
    const tokenizer = new TokenizerFacade(ctx.getState, onTokenizerReady, ctx.log);
    this.tokenizerFacade = {
      info: () => tokenizer.info(),
      tokenize: (text) => tokenizer.tokenize(text),
      ...(ctx.facadeExtras ?? {}),
    };
  }

  isPromptFile(doc: TextDocument): boolean {
    return doc.languageId === LANGUAGE_ID || doc.uri.endsWith(FILE_EXTENSION);
  }

  tooLarge(doc: TextDocument): boolean {
    return doc.getText().length > MAX_PROMPT_FILE_CHARS;
  }

  fileOf(doc: TextDocument): PromptFile {
    const hit = this.parsed.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.file;
    const file = parsePromptFile(doc.getText());
    this.parsed.set(doc.uri, { version: doc.version, file });
    return file;
  }

  /** The host's facade when it has one ready (an opened engine model), else the tokenizer facade. */
  facadeFor(uri: string, file: PromptFile): LanguageModelFacade {
    return this.ctx.languageModel?.(uri, file.options.model?.value) ?? this.tokenizerFacade;
  }

  /**
   * Settings are cached briefly: change notifications need the client's cooperation (registered
   * by watchDocuments), and the expiry keeps a client without them from seeing stale values for long.
   */
  settingsFor(uri: string): Promise<LanguageSettings> {
    const hit = this.settingsCache.get(uri);
    if (hit && Date.now() - hit.at < SETTINGS_TTL_MS) return hit.value;
    const value = readSettings(this.ctx.connection, uri);
    this.settingsCache.set(uri, { at: Date.now(), value });
    return value;
  }

  /** `f` on an open prompt file of a usable size, else `empty`. */
  withDoc<T>(uri: string, empty: T, f: (doc: TextDocument, file: PromptFile) => T): T {
    const doc = this.ctx.documents.get(uri);
    return doc && this.isPromptFile(doc) && !this.tooLarge(doc) ? f(doc, this.fileOf(doc)) : empty;
  }

  forget(uri: string): void {
    this.parsed.delete(uri);
    this.settingsCache.delete(uri);
  }

  clearSettings(): void {
    this.settingsCache.clear();
  }
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

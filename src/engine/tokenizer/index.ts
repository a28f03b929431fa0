// Text <-> tokens for a model folder, with exact character spans for every token.
// Tokenisation itself is @huggingface/tokenizers (reads tokenizer.json offline); the spans are ours
// (align.ts), because that library reports no offsets.

import { Tokenizer } from "@huggingface/tokenizers";
import type { Token } from "../types";
import { IntrospectError } from "../types";
import { alignSegments, type Segment } from "./align";
import { ChatTemplates, tokenContent, type ChatMessage, type ChatTemplateOptions } from "./chat";
import { readTokenizerFiles } from "./load";
import { displayBytes, readSurfaceStyle, surfaceBytes, type SurfaceStyle } from "./surface";

export { tokensInRange, spanOfTokens } from "./spans";
export { TOKENIZER_MISSING, findTokenizerJson } from "./load";
export type { ChatMessage, ChatTemplateOptions } from "./chat";

export interface EncodeOptions {
  /** Add the tokens the tokenizer's post-processor adds (BOS, [CLS]/[SEP]); default true, as in Transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  /** Remove spaces before punctuation as tokenizer_config.json's clean_up_tokenization_spaces says (default: as it says). */
  cleanUpSpaces?: boolean;
}

export type TokenizerKind = SurfaceStyle["kind"];

export interface TextTokenizer {
  /** Where the tokenizer.json was read from. */
  readonly path: string;
  readonly kind: TokenizerKind;
  /** Highest token id + 1, added tokens included. */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  encode(text: string, opts?: EncodeOptions): Token[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  /** Display text of one token: leading spaces kept, bytes of an unfinished character as `<0xE2>`. */
  tokenText(id: number): string;
  idToPiece(id: number): string | undefined;
  pieceToId(piece: string): number | undefined;
  /** Added special tokens (BOS, EOS, chat markers), which stand for no text. */
  isSpecial(id: number): boolean;
  readonly hasChatTemplate: boolean;
  applyChatTemplate(messages: ChatMessage[], opts?: ChatTemplateOptions): string;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
}

// The library's post-processor is callable at run time but typed as an object.
type PostProcess = (a: string[], b: string[] | null, addSpecial: boolean) => { tokens: string[] };

class HfTextTokenizer implements TextTokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  private readonly style: SurfaceStyle;
  private readonly added = new Map<number, AddedTokenJson>();
  private readonly surfaceCache = new Map<number, Uint8Array>();
  private readonly textCache = new Map<number, string>();
  private readonly chat: ChatTemplates;
  private readonly unkId: number | undefined;

  constructor(
    readonly path: string,
    private readonly hf: Tokenizer,
    tokenizerJson: Record<string, unknown>,
    config: Record<string, unknown>,
  ) {
    this.style = readSurfaceStyle(tokenizerJson);
    this.kind = this.style.kind;
    for (const t of (tokenizerJson.added_tokens ?? []) as AddedTokenJson[]) this.added.set(t.id, t);
    let max = -1;
    for (const id of hf.get_vocab(true).values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    this.chat = new ChatTemplates(config);
    const idOf = (key: string): number | undefined => {
      const c = tokenContent(config[key]);
      return c === undefined ? undefined : hf.token_to_id(c);
    };
    this.bosTokenId = idOf("bos_token");
    this.eosTokenId = idOf("eos_token");
    this.unkId = this.style.unkPiece === undefined ? undefined : hf.token_to_id(this.style.unkPiece);
  }

  get hasChatTemplate(): boolean {
    return this.chat.has();
  }

  idToPiece(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  pieceToId(piece: string): number | undefined {
    return this.hf.token_to_id(piece);
  }

  isSpecial(id: number): boolean {
    return this.added.get(id)?.special === true;
  }

  private surface(id: number): Uint8Array {
    let bytes = this.surfaceCache.get(id);
    if (bytes) return bytes;
    const added = this.added.get(id);
    const piece = this.hf.id_to_token(id) ?? "";
    bytes = added ? new TextEncoder().encode(this.addedText(added)) : surfaceBytes(piece, this.style);
    this.surfaceCache.set(id, bytes);
    return bytes;
  }

  /**
   * The text an added token stands for: special ones are their literal content. Non-special ones
   * may also come out of the model itself from normalised text (Gemma's "▁▁" runs of spaces), so
   * outside byte-level vocabularies their space marks stand for spaces.
   */
  private addedText(added: AddedTokenJson): string {
    if (added.special || this.style.byteLevel) return added.content;
    let text = added.content;
    for (const mark of this.style.spaceMarks) text = text.split(mark).join(" ");
    return text;
  }

  /** Added tokens that the library splits out of the text before the model runs. */
  private isLiteral(id: number): boolean {
    const added = this.added.get(id);
    return added !== undefined && (added.special === true || this.style.byteLevel);
  }

  tokenText(id: number): string {
    let text = this.textCache.get(id);
    if (text !== undefined) return text;
    const added = this.added.get(id);
    text = added ? this.addedText(added) : displayBytes(this.surface(id));
    this.textCache.set(id, text);
    return text;
  }

  encode(text: string, opts: EncodeOptions = {}): Token[] {
    if (typeof text !== "string") throw new IntrospectError("bad-input", "The text to tokenise must be a string.");
    const content = this.hf.encode(text, { add_special_tokens: false });
    const missing = content.ids.findIndex((id) => !Number.isInteger(id));
    if (missing >= 0) {
      throw new IntrospectError(
        "bad-input",
        `The text holds ${JSON.stringify(content.tokens[missing] ?? "")}, which this tokenizer cannot encode (no vocabulary piece and no unknown token): remove or replace it.`,
      );
    }
    // The unknown piece has no surface text; align.ts gives it the word it replaced.
    const segments: Segment[] = content.ids.map((id) =>
      id === this.unkId ? { bytes: null, literal: false } : { bytes: this.surface(id), literal: this.isLiteral(id) },
    );
    const spans = alignSegments(text, segments, {
      alwaysPrependsSpace: this.style.alwaysPrependsSpace,
      prependsMissingSpace: this.style.prependsMissingSpace,
      unkIsWord: this.style.kind === "wordpiece",
      unkPiece: this.style.unkPiece,
      spaceMarks: this.style.spaceMarks.map((m) => m.codePointAt(0)!),
    });
    const tokens: Token[] = content.ids.map((id, k) => ({
      id,
      piece: content.tokens[k],
      text: this.tokenText(id),
      span: spans[k],
    }));
    if (opts.addSpecialTokens === false) return tokens;
    return this.addSpecial(text, tokens);
  }

  /** Runs the post-processor and places what it added (BOS, EOS, [CLS], [SEP]) with empty spans. */
  private addSpecial(text: string, tokens: Token[]): Token[] {
    const post = this.hf.post_processor as unknown as PostProcess | null;
    if (!post) return tokens;
    const pieces = post(
      tokens.map((t) => t.piece),
      null,
      true,
    ).tokens;
    const m = tokens.length;
    for (let k = 0; k + m <= pieces.length; k++) {
      let same = true;
      for (let j = 0; j < m && same; j++) same = pieces[k + j] === tokens[j].piece;
      if (!same) continue;
      const extra = (piece: string, at: number): Token => {
        const id = this.hf.token_to_id(piece) ?? this.unkId ?? 0;
        return { id, piece, text: this.tokenText(id), span: { start: at, end: at } };
      };
      return [...pieces.slice(0, k).map((p) => extra(p, 0)), ...tokens, ...pieces.slice(k + m).map((p) => extra(p, text.length))];
    }
    throw new IntrospectError("internal", "The tokenizer's post-processor changed the tokens of the text itself.");
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (ids.length === 0) return "";
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new IntrospectError("bad-input", `Token id ${id} is outside this vocabulary (0..${this.vocabSize - 1}).`);
      }
    }
    return this.hf.decode([...ids], {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      ...(opts.cleanUpSpaces !== undefined ? { clean_up_tokenization_spaces: opts.cleanUpSpaces } : {}),
    });
  }

  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    return this.chat.render(messages, opts);
  }
}

/**
 * Loads the tokenizer of a model: pass the model folder, its `.onnx` file, or a tokenizer.json.
 * Errors are IntrospectErrors whose message a user can act on.
 */
export async function loadTokenizer(folderOrFile: string): Promise<TextTokenizer> {
  const files = readTokenizerFiles(folderOrFile);
  let hf: Tokenizer;
  try {
    hf = new Tokenizer(files.tokenizerJson, files.config);
  } catch (e) {
    throw new IntrospectError(
      "unsupported-model",
      `tokenizer.json at ${files.tokenizerPath} could not be loaded (${(e as Error).message}): this tokenizer type may not be supported.`,
    );
  }
  return new HfTextTokenizer(files.tokenizerPath, hf, files.tokenizerJson, files.config);
}

// The default LanguageModelFacade: the loaded model's info and tokenizer, read from the host's
// model state. Next-token predictions, probe values and built vectors need the engine's
// session; the host supplies them by passing its own facade (LanguageHost.languageModel), kept
// per engine model by engineFacadeCache below.
import { loadTokenizer, type TextTokenizer } from "../../engine";
import type { ModelState } from "../../engine";
import { createEngineFacade, type EngineFacadeOptions, type PredictingModel } from "./engineFacade";
import type { LanguageModelFacade } from "./facade";

export class TokenizerFacade implements LanguageModelFacade {
  private path: string | undefined;
  private tokenizer: TextTokenizer | undefined;

  /** `onReady` runs when a tokenizer finishes loading, so diagnostics can be recomputed. */
  constructor(
    private readonly getState: () => ModelState,
    private readonly onReady: () => void,
    private readonly log: (message: string) => void,
  ) {}

  info() {
    const s = this.getState();
    return s.kind === "ready" ? s.info : undefined;
  }

  tokenize(text: string) {
    const s = this.getState();
    if (s.kind !== "ready") return undefined;
    if (this.path !== s.path) this.load(s.path);
    try {
      return this.tokenizer?.encode(text);
    } catch (e) {
      this.log(`Tokenizing a prompt-file text failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  private load(path: string): void {
    this.path = path;
    this.tokenizer = undefined;
    loadTokenizer(path).then(
      (t) => {
        if (this.path !== path) return; // another model was loaded meanwhile
        this.tokenizer = t;
        this.onReady();
      },
      (e: Error) => this.log(`Prompt files: no tokenizer for ${path}: ${e.message}`),
    );
  }
}

/** Where the host's engine model comes from (src/server/engineModel.ts implements it). */
export interface EngineSource<M extends PredictingModel> {
  get(): Promise<M>;
  current(): M | undefined;
  tokenizer(model: M): Promise<TextTokenizer>;
  currentTokenizer(): TextTokenizer | undefined;
}

/**
 * One engine facade per opened engine model, so its prediction cache lives as long as the model:
 * `current()` without opening anything (undefined until the model is open), `open()` opening it.
 */
export function engineFacadeCache<M extends PredictingModel>(
  source: EngineSource<M>,
  extras: Omit<EngineFacadeOptions, "model" | "tokenizer">,
): { current(): LanguageModelFacade | undefined; open(): Promise<LanguageModelFacade> } {
  let memo: { model: M; facade: LanguageModelFacade } | undefined;
  const facadeOf = (model: M, tokenizer: TextTokenizer) => {
    if (memo?.model !== model) memo = { model, facade: createEngineFacade({ model, tokenizer, ...extras }) };
    return memo.facade;
  };
  return {
    current() {
      const model = source.current();
      const tokenizer = source.currentTokenizer();
      return model && tokenizer ? facadeOf(model, tokenizer) : undefined;
    },
    async open() {
      const model = await source.get();
      return facadeOf(model, await source.tokenizer(model));
    },
  };
}

// Facades for the language-feature tests: backed by a real tokenizer when one is on disk
// (the demo model's, else a fixture's), otherwise by a small word-level fake. Tests assert
// only what holds for any of them (a name is one token, a phrase is several).
import { existsSync } from "fs";
import * as path from "path";
import type { LanguageModelFacade } from "../../../src/server/language/facade";
import type { ModelInfo, Token } from "../../../src/engine";
import { loadTokenizer } from "../../../src/engine";

const ROOT = path.join(__dirname, "../../..");
// INTROSPECT_TEST_TOKENIZER=<folder> runs the tests against another tokenizer.
const CANDIDATES = [
  ...(process.env.INTROSPECT_TEST_TOKENIZER ? [process.env.INTROSPECT_TEST_TOKENIZER] : []),
  "models/demo-llama",
  "test/fixtures/tokenizers/mistral",
  "test/fixtures/tokenizers/llama2",
];

export const INFO: ModelInfo = {
  id: "demo-llama",
  architecture: "llama",
  numLayers: 4,
  dModel: 128,
  vocabSize: 1000,
  sites: [0, 1, 2, 3].flatMap((L) => ["hook_resid_pre", "hook_resid_post", "hook_attn_out", "hook_mlp_out"].map((k) => `blocks.${L}.${k}`)),
  hasKvCache: true,
  exportStyle: "torchscript",
  notes: [],
};

/** Word-level fake: a BOS token, then words with their leading space, punctuation, newlines. */
export function fakeEncode(text: string): Token[] {
  const out: Token[] = [{ id: 1, piece: "<s>", text: "<s>", span: { start: 0, end: 0 } }];
  const re = / ?[\p{L}\p{N}_]+| ?[^\p{L}\p{N}_\s]+|\s/gu;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let id = 7;
    for (const ch of m[0]) id = (id * 31 + ch.codePointAt(0)!) % 997;
    out.push({ id: id + 3, piece: m[0].replace(/ /g, "Ġ"), text: m[0], span: { start: m.index, end: m.index + m[0].length } });
  }
  return out;
}

export interface TestFacade extends LanguageModelFacade {
  /** Which tokenizer backs it, for the test log. */
  source: string;
}

let loaded: Promise<{ encode: (t: string) => Token[]; source: string }> | undefined;

async function realOrFake(): Promise<{ encode: (t: string) => Token[]; source: string }> {
  for (const c of CANDIDATES) {
    const dir = path.resolve(ROOT, c);
    if (!existsSync(path.join(dir, "tokenizer.json"))) continue;
    try {
      const tok = await loadTokenizer(dir);
      return { encode: (t) => tok.encode(t), source: c };
    } catch (e) {
      console.log(`      (tokenizer ${c} not usable: ${(e as Error).message})`);
    }
  }
  return { encode: fakeEncode, source: "word-level fake" };
}

export async function makeFacade(extra: Partial<LanguageModelFacade> = {}): Promise<TestFacade> {
  const { encode, source } = await (loaded ??= realOrFake());
  return { source, info: () => INFO, tokenize: (t) => encode(t), ...extra };
}

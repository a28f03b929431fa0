// introspect tokenize: text -> tokens with ids, strings and character offsets.

import { loadTokenizer } from "../engine";
import type { Token } from "../engine";
import { type Command, optionTable, quoteToken, readTextOption, required, table } from "./common";

export function tokenRows(tokens: Token[]): string[][] {
  return [
    ["#", "id", "piece", "text", "start", "end"],
    ...tokens.map((t, i) => [String(i), String(t.id), quoteToken(t.piece), quoteToken(t.text), String(t.span.start), String(t.span.end)]),
  ];
}

export function tokensJson(tokens: Token[]): object[] {
  return tokens.map((t, i) => ({ index: i, id: t.id, piece: t.piece, text: t.text, start: t.span.start, end: t.span.end }));
}

export const tokenizeCommand: Command = {
  name: "tokenize",
  summary: "show the tokens of a text: ids, strings and character offsets",
  help: `introspect tokenize --model PATH --text TEXT [--no-special] [--json]

Tokenises TEXT with the model's tokenizer.json and prints one row per token: index, id, the
vocabulary piece, its text, and the UTF-16 character offsets [start, end) in TEXT (as editors
count). Tokens added by the tokenizer (BOS, [CLS]) have empty offsets.

  --model PATH      model folder, its .onnx file, or a tokenizer.json
  --text TEXT       the text; "-" reads standard input
  --text-file FILE  read the text from FILE instead
  --no-special      do not add BOS/EOS-style tokens
  --json            print {"tokens": [{index, id, piece, text, start, end}], ...} instead of a table`,
  options: optionTable(["model", "text", "text-file"], ["no-special", "json"]),
  async run(values, io) {
    const model = required(values, "model", "tokenize");
    const text = await readTextOption(values, io, "tokenize");
    const tok = await loadTokenizer(model);
    const tokens = tok.encode(text, { addSpecialTokens: !values["no-special"] });
    if (values.json) {
      io.out(
        JSON.stringify({ tokenizer: tok.path, kind: tok.kind, vocabSize: tok.vocabSize, text, tokens: tokensJson(tokens) }, null, 1) + "\n",
      );
    } else {
      io.out(table(tokenRows(tokens), [0, 1, 4, 5]) + "\n");
      io.out(`${tokens.length} tokens (${tok.kind}, vocabulary ${tok.vocabSize})\n`);
    }
    return 0;
  },
};

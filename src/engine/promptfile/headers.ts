// Column-0 lines of a prompt file: a block header (keyword and name) becomes a new, empty block;
// a line that starts no block gets a diagnostic saying where it belongs.
import type { Block, BlockKind, Located, ParseDiagnostic, Range } from "./model";
import { rng } from "./text";
import { err, type Word } from "./values";
import { BLOCK_KINDS, closest, CONTRAST_KEYS, lookupKey, OPTION_KEYS, PATCH_KEYS } from "./vocabulary";

/**
 * The block opened by header line `i` (`lineText`): `keywordRange` is where its kind is written,
 * `rest` the words after it. The name must be one word of allowed characters and unique in the
 * file (`names`: name -> header line, learns this one); problems go to `diags`.
 */
export function newBlock(
  kind: BlockKind,
  keywordRange: Range,
  rest: Word[],
  lineText: string,
  i: number,
  names: Map<string, number>,
  diags: ParseDiagnostic[],
): Block {
  const headerRange = rng(i, 0, lineText.trimEnd().length);
  let name: Located<string> | undefined;
  if (rest.length > 0) {
    const w = rest[0];
    name = { value: w.text, range: rng(i, w.start, w.end) };
    if (!/^[\p{L}\p{N}_][\p{L}\p{N}_.-]*$/u.test(w.text)) {
      diags.push(err(name.range, `'${w.text}' is not a block name: use letters, digits, '_', '-' and '.'.`, "bad-name"));
    }
    if (rest.length > 1) {
      const extra = rng(i, rest[1].start, rest[rest.length - 1].end);
      diags.push(
        err(
          extra,
          `A block name is one word; put the ${kind === "prompt" ? "prompt text" : "settings"} on indented lines below.`,
          "extra-after-name",
        ),
      );
    }
    const prev = names.get(w.text);
    if (prev !== undefined) {
      diags.push(err(name.range, `A block named '${w.text}' already exists on line ${prev + 1}; names must be unique.`, "duplicate-name"));
    } else names.set(w.text, i);
  } else if (kind !== "options") {
    diags.push(err(keywordRange, `This ${kind} block needs a name: \`${kind} my-name\`.`, "missing-name"));
  }
  const base = { name, keyword: { value: kind, range: keywordRange }, range: headerRange, headerRange, entries: [] };
  if (kind === "prompt") return { ...base, kind };
  if (kind === "contrast") return { ...base, kind, layers: [], positive: [], negative: [] };
  if (kind === "patch") return { ...base, kind, sites: [], layers: [] };
  return { ...base, kind };
}

/** The error for a column-0 word `first` that neither opens a block nor sets an option. */
export function notABlock(first: string, firstRange: Range): ParseDiagnostic {
  const belongs =
    first === "+" || first === "-" || first.startsWith("+")
      ? "contrast"
      : lookupKey(PATCH_KEYS, first)
        ? "patch"
        : lookupKey(CONTRAST_KEYS, first)
          ? "contrast"
          : undefined;
  if (belongs) {
    return err(firstRange, `'${first}' belongs inside a ${belongs} block: indent it under a \`${belongs} name\` line.`, "not-in-block");
  }
  const guess = closest(first, [...BLOCK_KINDS, ...Object.keys(OPTION_KEYS)]);
  return err(
    firstRange,
    `Unknown block '${first}'${guess ? ` (did you mean '${guess}'?)` : ""}: a line at column 0 starts a block (prompt, contrast, patch, options) or sets an option (${Object.keys(OPTION_KEYS).join(", ")}). Indent text to put it inside a block.`,
    "unknown-block",
  );
}

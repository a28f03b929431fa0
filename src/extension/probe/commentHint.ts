// A selection inside a comment is probed in the file's context from its start (prompt files: only
// a prompt's text is probed as a prompt), which surprises: the probe command says so. Pure.

const COMMENT_START = /^\s*(#|\/\/|\/\*|\*|--|;|%)/;

/** The hint to show when the selection starts on a comment line; undefined otherwise. */
export function commentHint(line: string, languageId: string): string | undefined {
  if (!COMMENT_START.test(line)) return undefined;
  if (languageId === "introspect" && !/^\s*#/.test(line)) return undefined;
  return languageId === "introspect"
    ? "The selection is in a comment, not in a prompt's text, so it is probed in the whole file's context from its start: select inside a prompt block, or click the block's Probe lens."
    : "The selection is in a comment: it is probed with the file's text before it as context (setting introspect.probe.context).";
}

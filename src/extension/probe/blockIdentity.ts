// Which prompt block (or selection) a probe is of: the key its pins and saved results go under,
// and the label the panel shows ("pins.introspect · clean"). Pure (tested in
// test/unit/ux/blockIdentity.test.ts).
import type { ProbeTarget } from "./target";

/** Which block (or selection) a probe is of, and how the panel names it. */
export function blockIdentity(target: ProbeTarget, uri: string, docText?: string): { key: string; label: string } {
  const file = decodeURIComponent(
    uri
      .replace(/[?#].*$/, "")
      .split("/")
      .pop() ?? uri,
  );
  const selected = target.text.slice(target.selection.start, target.selection.end);
  const excerpt = selected.replace(/\s+/g, " ").trim();
  const quote = `“${excerpt.length > 32 ? excerpt.slice(0, 31) + "…" : excerpt}”`;
  if (target.source === "prompt block") {
    const line = target.toDocument(0, 0).start.line;
    const lines = docText?.split(/\r?\n/) ?? [];
    let name: string | undefined;
    for (let l = Math.min(line, lines.length - 1); l >= 0; l--) {
      const m = /^\s*(prompt|patch|steer|compare)\b\s*(\S+)?/.exec(lines[l]);
      if (m) {
        name = m[2] ?? `${m[1]} at line ${l + 1}`;
        break;
      }
    }
    const block = name ?? `line ${line + 1}`;
    const whole = target.selection.start === 0 && target.selection.end === target.text.length;
    return { key: `${uri}#${block}|${whole ? "" : excerpt}`, label: `${file} · ${block}${whole ? "" : ` · ${quote}`}` };
  }
  return { key: `${uri}|${excerpt}`, label: `${file} · ${quote}` };
}

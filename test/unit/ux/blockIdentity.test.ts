// Pins and saved results are keyed and labelled by the prompt block (or selection) probed.
import * as assert from "assert";
import { blockIdentity } from "../../../src/extension/probe/blockIdentity";
import type { ProbeTarget } from "../../../src/extension/probe/target";

const DOC = ["model demo-llama", "", "prompt clean", "  When Mary and John went", "", "prompt", "  unnamed text", ""].join("\n");
const target = (
  text: string,
  line: number,
  sel = { start: 0, end: text.length },
  source: ProbeTarget["source"] = "prompt block",
): ProbeTarget => ({
  text,
  selection: sel,
  toDocument: () => ({ start: { line, character: 2 }, end: { line, character: 2 + text.length } }),
  source,
});

describe("ux/the block a probe is of", () => {
  const uri = "file:///w/pins.introspect";

  it("names a prompt block by its name, and a part of it by its text too", () => {
    const whole = blockIdentity(target("When Mary and John went", 3), uri, DOC);
    assert.deepStrictEqual(whole, { key: `${uri}#clean|`, label: "pins.introspect · clean" });
    const part = blockIdentity(target("When Mary and John went", 3, { start: 5, end: 9 }), uri, DOC);
    assert.strictEqual(part.label, "pins.introspect · clean · “Mary”");
    assert.notStrictEqual(part.key, whole.key);
  });

  it("names an unnamed block by its line, and a selection elsewhere by its text", () => {
    assert.strictEqual(blockIdentity(target("unnamed text", 6), uri, DOC).label, "pins.introspect · prompt at line 6");
    const t = "x".repeat(50);
    const sel = blockIdentity(target(t, 0, { start: 0, end: 50 }, "selection"), "file:///w/notes.txt");
    assert.strictEqual(sel.label, `notes.txt · “${"x".repeat(31)}…”`);
    assert.strictEqual(sel.key, `file:///w/notes.txt|${t}`);
  });
});

// The host's answers to the extension's prompt-file questions (PromptBlocksRequest): the patch
// block under the cursor becomes the patching experiment, with its answers and sites; elsewhere
// there is none, and the prompt is the block under the cursor or the file's first.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { fromPatchSpec } from "../../../src/extension/patch/experiment";
import { promptBlocks } from "../../../src/server/language/promptQueries";

const IOI = fs.readFileSync(path.join(__dirname, "../../../demo/ioi.introspect"), "utf8");
const lineOf = (s: string) => IOI.split("\n").findIndex((l) => l.includes(s));

describe("prompt-file questions answered by the host", () => {
  it("the patch block under the cursor, with its answers and sites, becomes the experiment", () => {
    const line = lineOf("corrupt  When Mary and John went to the store, Mary gave");
    const r = promptBlocks({ source: IOI, position: { line, character: 4 } });
    assert.ok(r.patch, "a patch block is found");
    const exp = fromPatchSpec(r.patch, `ioi.introspect#${r.patch.name}`);
    assert.strictEqual(exp.source, "ioi.introspect#names-swapped");
    assert.strictEqual(exp.clean, "When Mary and John went to the store, John gave a drink to");
    assert.strictEqual(exp.corrupt, "When Mary and John went to the store, Mary gave a drink to");
    assert.strictEqual(exp.answer, " Mary");
    assert.strictEqual(exp.wrong, " John");
    assert.deepStrictEqual(exp.sites, ["hook_resid_pre", "hook_attn_out", "hook_mlp_out"]);
  });

  it("no patch block outside one; the prompt block under the cursor, else the first", () => {
    const inPrompt = promptBlocks({ source: IOI, position: { line: lineOf("prompt store") + 1, character: 2 } });
    assert.strictEqual(inPrompt.patch, undefined);
    assert.deepStrictEqual(inPrompt.prompt, { text: "When Mary and John went to the store, John gave a drink to", name: "store" });
    const none = promptBlocks({ source: IOI, position: { line: -1, character: 0 } });
    assert.strictEqual(none.patch, undefined);
    assert.strictEqual(none.prompt?.name, "store");
    assert.deepStrictEqual(promptBlocks({ source: "prompt\n", position: { line: 0, character: 0 } }), {});
  });
});

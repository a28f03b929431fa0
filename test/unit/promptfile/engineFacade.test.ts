// The engine-backed facade on the real demo model: next-token predictions for inlay hints,
// and the stores that feed hovers (probe values) and lenses (built vectors).
import * as assert from "assert";
import { existsSync } from "fs";
import * as path from "path";
import { openModel, type LoadedModel } from "../../../src/engine";
import { loadTokenizer } from "../../../src/engine";
import { parsePromptFile } from "../../../src/engine";
import { computeCodeLenses } from "../../../src/server/language/codeLens";
import { BuiltVectorStore, createEngineFacade, onStoresChanged, ProbeValueStore } from "../../../src/server/language/engineFacade";
import { DEFAULT_SETTINGS } from "../../../src/server/language/facade";
import { computeHover } from "../../../src/server/language/hover";
import { computeInlayHints } from "../../../src/server/language/inlayHints";

const DEMO = path.join(__dirname, "../../../models/demo-llama");
const NEVER = { isCancellationRequested: false };

describe("engine-backed prompt-file facade (demo-llama)", function () {
  this.timeout(120000);
  let model: LoadedModel | undefined;
  before(async function () {
    if (!existsSync(path.join(DEMO, "onnx/model.onnx"))) this.skip();
    model = await openModel(DEMO, { intraOpThreads: 1 });
  });
  after(() => model?.dispose());

  it("predicts the indirect object at the end of an IOI prompt and caches the answer", async () => {
    const tokenizer = await loadTokenizer(DEMO);
    const facade = createEngineFacade({ model: model!, tokenizer });
    const text = "When Mary and John went to the store, John gave a drink to";
    const p1 = facade.predictNext!(text, NEVER);
    const next = await p1;
    assert.strictEqual(next?.text, " Mary");
    assert.ok(next!.prob > 0.5 && next!.prob <= 1, String(next!.prob));
    assert.strictEqual(facade.predictNext!(text, NEVER), p1);
    const file = parsePromptFile(`prompt ioi\n  ${text}\n`);
    const hints = await computeInlayHints(
      file,
      { start: { line: 0, character: 0 }, end: { line: 9, character: 0 } },
      facade,
      { ...DEFAULT_SETTINGS, inlayNextToken: true },
      NEVER,
    );
    assert.strictEqual(hints.length, 1);
    assert.match(String(hints[0].label), /^→ " Mary" \d+%$/);
    assert.deepStrictEqual(hints[0].position, { line: 1, character: 2 + text.length });
  });

  it("feeds recorded probe values to the hover and built vectors to the lenses", async () => {
    const tokenizer = await loadTokenizer(DEMO);
    const probes = new ProbeValueStore();
    const vectors = new BuiltVectorStore();
    const facade = createEngineFacade({ model: model!, tokenizer, probes, vectors });
    const text = "The food was";
    const n = tokenizer.encode(text).length;
    probes.record(
      text,
      Array.from({ length: n }, (_, i) => ({ rows: [{ label: "resid norm", value: `token ${i}` }] })),
    );
    const file = parsePromptFile(`prompt p\n  ${text}\ncontrast s\n  + good\n  - bad\n`);
    const md = (computeHover(file, { line: 1, character: 3 }, facade)!.contents as { value: string }).value;
    assert.match(md, /resid norm: token \d+/);
    assert.strictEqual(
      computeCodeLenses("file:///x.introspect", file, facade).filter((l) => l.command?.command === "introspect.openVector").length,
      0,
    );
    vectors.record("file:///x.introspect", "s", "vec-7");
    const open = computeCodeLenses("file:///x.introspect", file, facade).find((l) => l.command?.command === "introspect.openVector");
    assert.deepStrictEqual(open?.command?.arguments, [{ uri: "file:///x.introspect", blockName: "s", vectorId: "vec-7" }]);
  });
});

describe("prompt-file stores", () => {
  it("tell the features when a probe or a vector build is recorded", () => {
    let n = 0;
    const off = onStoresChanged(() => n++);
    new BuiltVectorStore().record("file:///a.introspect", "s", "v1");
    new ProbeValueStore().record("text", []);
    off();
    new BuiltVectorStore().record("file:///a.introspect", "s", "v2");
    assert.strictEqual(n, 2);
  });
});

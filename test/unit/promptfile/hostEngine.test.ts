// The host's wiring of prompt files to the engine: the shared engine model (one open per model),
// the facade kept per opened model, and probe values (what the probe handler records) in hovers.
import * as assert from "assert";
import { existsSync } from "fs";
import * as path from "path";
import { buildProbeResult } from "../../../src/engine";
import { parsePromptFile } from "../../../src/engine";
import type { ModelState } from "../../../src/engine";
import type { LoadedModel as HostModel } from "../../../src/server/context";
import { createEngineModelAccess } from "../../../src/server/engineModel";
import { ProbeValueStore } from "../../../src/server/language/engineFacade";
import { computeHover } from "../../../src/server/language/hover";
import { engineFacadeCache } from "../../../src/server/language/hostFacade";
import { probeValueRows } from "../../../src/server/language/probeValues";
import { waitFor } from "../../waitFor";

const DEMO = path.join(__dirname, "../../../models/demo-llama");
const ONNX = path.join(DEMO, "onnx/model.onnx");
const TEXT = "When Mary and John went to the store, John gave a drink to";
const NEVER = { isCancellationRequested: false };

describe("host engine model shared with prompt files (demo-llama)", function () {
  this.timeout(180000);
  let hostModel: HostModel | undefined;
  let state: ModelState = { kind: "none" };
  const opened: unknown[] = [];
  const access = createEngineModelAccess({ getModel: () => hostModel, getState: () => state, onOpened: (m) => opened.push(m) });

  before(function () {
    if (!existsSync(ONNX)) this.skip();
  });
  after(async () => (await access.get().catch(() => undefined))?.dispose());

  it("refuses with a sentence while no model is loaded, and opens nothing", async () => {
    await assert.rejects(access.get("probe again"), /No model is loaded: set introspect.model.*then probe again\./);
    state = { kind: "loading", path: DEMO };
    await assert.rejects(access.get(), /still loading/);
    assert.strictEqual(access.current(), undefined);
  });

  it("opens one engine model per host model, shared by every caller; the facade appears once it is open", async () => {
    hostModel = { modelPath: DEMO, onnxFile: ONNX };
    const facades = engineFacadeCache(access, { probes: new ProbeValueStore() });
    assert.strictEqual(facades.current(), undefined, "nothing opened before the first use");
    const [a, b] = await Promise.all([access.get(), access.get()]);
    assert.strictEqual(a, b, "one engine model for both callers");
    await access.tokenizer(a);
    await waitFor("onOpened", () => opened.length > 0);
    assert.deepStrictEqual(opened, [a], "onOpened once, with the model");
    const f = facades.current();
    assert.ok(f, "the facade is available without opening anything once the model is open");
    assert.strictEqual(facades.current(), f, "kept per model (its prediction cache survives)");
    assert.strictEqual(await facades.open(), f);
    const next = await f.predictNext!(TEXT, NEVER);
    assert.strictEqual(next?.text, " Mary");
    assert.strictEqual(f.info()?.numLayers, a.info.numLayers);
  });

  it("a probe's values reach the hover at the probed token", async () => {
    const model = await access.get();
    const tokenizer = await access.tokenizer(model);
    const result = await buildProbeResult(model, TEXT, { start: 0, end: TEXT.length }, { tokenizer });
    const rows = probeValueRows(result);
    assert.strictEqual(rows.length, result.tokens.length, "one entry per probed token");
    const last = result.tokens.length - 1;
    const byLabel = Object.fromEntries(rows[last].rows.map((r) => [r.label, r.value]));
    assert.match(byLabel["predicted next"], /^" Mary" \d+\.\d%$/, JSON.stringify(byLabel));
    assert.match(byLabel["logit lens"], /settles on " Mary" at layer \d+ of \d+/);
    assert.strictEqual(byLabel["actual next"], undefined, "nothing follows the last token");
    assert.ok(
      rows[last - 1].rows.some((r) => r.label === "actual next" && r.value.startsWith('" to"')),
      "the token before knows its successor",
    );

    const store = new ProbeValueStore();
    store.record(TEXT, rows);
    const facade = engineFacadeCache(access, { probes: store }).current()!;
    const file = parsePromptFile(`prompt ioi\n  ${TEXT}\n`);
    const end = { line: 1, character: 2 + TEXT.length - 1 }; // on the last character: the token " to"
    const hover = computeHover(file, end, facade);
    const md = (hover?.contents as { value: string }).value;
    assert.match(md, new RegExp(`After the last probe, at token ${last}:`));
    assert.match(md, /predicted next: " Mary"/);
    // Another text has no values.
    const other = computeHover(parsePromptFile(`prompt x\n  ${TEXT} her\n`), { line: 1, character: 4 }, facade);
    assert.doesNotMatch((other?.contents as { value: string }).value, /After the last probe/);
  });

  it("a changed host model gets a new engine model and the old one is released", async () => {
    const first = await access.get();
    hostModel = { ...hostModel! };
    assert.strictEqual(access.current(), undefined, "the old model is not offered for the new one");
    const second = await access.get();
    assert.notStrictEqual(second, first);
  });
});

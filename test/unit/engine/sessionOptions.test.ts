// onnxruntime's string-keyed session entries the engine sets (sessionExtra in loaded.ts).
import { strict as assert } from "assert";
import { sessionExtra } from "../../../src/engine/model/loaded";

describe("engine: session entries", () => {
  it("intra-op threads sleep unless spinning is asked for; prepacking is onnxruntime's unless turned off", () => {
    assert.deepEqual(sessionExtra({}), { extra: { session: { intra_op: { allow_spinning: "0" } } } });
    assert.deepEqual(sessionExtra({ allowSpinning: true }), { extra: { session: { intra_op: { allow_spinning: "1" } } } });
    assert.deepEqual(sessionExtra({ allowSpinning: false, prepackWeights: false }), {
      extra: { session: { disable_prepacking: "1", intra_op: { allow_spinning: "0" } } },
    });
  });
});

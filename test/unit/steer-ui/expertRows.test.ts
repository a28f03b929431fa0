// The steering panel's expert rows (pure): adding the same expert again replaces its row, toggles
// and bias strengths come from the page, only enabled rows reach the steered side.
import * as assert from "assert";
import { ExpertRows } from "../../../src/extension/steer/experts";

describe("steering panel: expert rows", () => {
  it("adds, replaces, toggles, scales and removes", () => {
    const rows = new ExpertRows();
    assert.strictEqual(rows.add({ kind: "off", layer: 4, expert: 3 }), "off L4:E3");
    rows.add({ kind: "bias", layer: 2, values: [0, -2, 0, 0] });
    assert.strictEqual(rows.add({ kind: "off", layer: 4, expert: 3 }), "off L4:E3");
    assert.deepStrictEqual(
      rows.list.map((r) => r.label),
      ["off L4:E3", "bias L2 [0, -2, 0, 0]"],
    );
    const [off, bias] = rows.list.map((r) => r.id);
    rows.apply([
      { id: off, enabled: false },
      { id: bias, enabled: true, scale: 0.5 },
      { id: "gone", enabled: true },
    ]);
    assert.deepStrictEqual(rows.active(), [{ kind: "bias", layer: 2, values: [0, -2, 0, 0], scale: 0.5 }]);
    assert.strictEqual(rows.list[1].label, "bias L2 [0, -1, 0, 0]");
    assert.deepStrictEqual(rows.live(), [
      { id: off, enabled: false },
      { id: bias, enabled: true, scale: 0.5 },
    ]);
    assert.ok(rows.remove(off));
    assert.ok(!rows.remove(off));
    assert.deepStrictEqual(
      rows.list.map((r) => r.label),
      ["bias L2 [0, -1, 0, 0]"],
    );
  });

  it("are saved with their toggles and come back (a window reload), skipping what is not an intervention", () => {
    const rows = new ExpertRows();
    rows.add({ kind: "off", layer: 4, expert: 3 });
    rows.add({ kind: "bias", layer: 2, values: [0, -2, 0, 0], scale: 0.5 });
    rows.apply([{ id: rows.list[0].id, enabled: false }]);
    const saved = JSON.parse(JSON.stringify(rows.saved())) as unknown[];
    const again = new ExpertRows();
    again.restore([...saved, { intervention: { kind: "nope", layer: 1 } }, null, { enabled: true }]);
    assert.deepStrictEqual(
      again.list.map((r) => [r.label, r.enabled]),
      [
        ["off L4:E3", false],
        ["bias L2 [0, -1, 0, 0]", true],
      ],
    );
    assert.deepStrictEqual(again.active(), [{ kind: "bias", layer: 2, values: [0, -2, 0, 0], scale: 0.5 }]);
    again.restore(undefined);
    assert.strictEqual(again.list.length, 2);
  });
});

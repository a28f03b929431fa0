// Every model under models/, test/fixtures/zoo/ and test/fixtures/local/ that has PyTorch reference
// tensors: logits, every captured site, and the steering and patching cases, within tolerance.
import * as assert from "assert";
import * as path from "path";
import { findFaithCases, faithfulnessOf, formatFaithTable, type FaithRow } from "../../../src/engine";

const ROOT = path.resolve(__dirname, "../../..");

describe("engine faithfulness vs PyTorch references", function () {
  this.timeout(600000);
  const cases = findFaithCases(ROOT);
  it("finds the local fixtures at least", () => {
    assert.ok(cases.filter((c) => c.name.startsWith("local/")).length >= 3, "local fixtures missing");
  });
  for (const c of cases) {
    it(`${c.name}: logits, sites, steering and patching match`, async () => {
      const rows: FaithRow[] = await faithfulnessOf(c);
      const compared = rows.filter((r) => !r.note);
      assert.ok(
        compared.some((r) => r.site === "logits"),
        "logits were not compared",
      );
      const bad = compared.filter((r) => !r.pass);
      assert.deepStrictEqual(
        bad.map((r) => r.site),
        [],
        `\n${formatFaithTable(bad)}`,
      );
    });
  }
});

// The panels' one number format (webview/shared/format.ts): percentages with digits that fit their
// size and no exponents, real numbers with 3 significant digits.
import * as assert from "assert";
import { num, pct, signed } from "../../../webview/shared/format";

describe("webview/shared/format", () => {
  it("writes probabilities as percentages, never with an exponent", () => {
    const cases: [number, string][] = [
      [0.4234, "42.3%"],
      [0.1, "10%"],
      [0.04234, "4.23%"],
      [0.004234, "0.42%"],
      [0.0004, "0.04%"],
      [0.0001, "0.01%"],
      [0.00005, "<0.01%"],
      [0.0000266, "<0.01%"],
      [1e-12, "<0.01%"],
      [0, "0%"],
      [1, "100%"],
      [0.9996, ">99.9%"],
      [0.9994, "99.9%"],
      [-0.25, "-25%"],
      [NaN, "n/a"],
    ];
    for (const [p, want] of cases) assert.strictEqual(pct(p), want, `pct(${p})`);
    for (let e = -12; e <= 0; e += 0.25) assert.doesNotMatch(pct(10 ** e), /e/, `pct(1e${e}) has no exponent`);
  });

  it("writes logits and norms with 3 significant digits", () => {
    const cases: [number, string][] = [
      [12.3456, "12.3"],
      [-3.14159, "-3.14"],
      [0.012345, "0.0123"],
      [1234.5, "1230"],
      [0, "0"],
      [2.66e-5, "2.66e-5"],
      [123456, "1.23e+5"],
      [Infinity, "inf"],
      [-Infinity, "-inf"],
      [NaN, "n/a"],
    ];
    for (const [v, want] of cases) assert.strictEqual(num(v), want, `num(${v})`);
    assert.strictEqual(num(3.14159, 4), "3.142");
    assert.strictEqual(signed(0.4211), "+0.421");
    assert.strictEqual(signed(-1.3), "-1.3");
    assert.strictEqual(signed(0), "0");
  });
});

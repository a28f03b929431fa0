// The DOM-free parts of webview/shared: colour scales, CSV quoting, token display.
import * as assert from "assert";
import {
  contrast,
  luminance,
  parseColor,
  scaleFor,
  textOn,
  themePalette,
  writeColor,
  type ColorScale,
} from "../../../webview/shared/colors";
import { csvField, toCsv, toJson } from "../../../webview/shared/export";
import { isByteToken, tokenLabel, visibleText } from "../../../webview/shared/tokens";
import { binColumns } from "../../../webview/shared/virtual";

describe("webview/shared", () => {
  it("parses d3's colour strings", () => {
    assert.deepStrictEqual(parseColor("#440154"), [0x44, 0x01, 0x54]);
    assert.deepStrictEqual(parseColor("rgb(5, 48, 97)"), [5, 48, 97]);
  });

  it("makes signed scales symmetric; sequential runs from the background to the accent, diverging is centred on the background", () => {
    const s = scaleFor(Float32Array.from([-1, 3]), "diverging");
    assert.deepStrictEqual([s.lo, s.hi], [-3, 3]);
    // Outside a page the theme is Dark Modern's: background #1f1f1f, accent #4daafc, charts blue / red.
    const p = themePalette();
    const at = (sc: ColorScale, v: number) => {
      const px = new Uint8ClampedArray(4);
      writeColor(sc, v, px, 0);
      return Array.from(px);
    };
    const zero = at(s, 0);
    assert.ok(
      zero.slice(0, 3).every((c, i) => Math.abs(c - p.background[i]) <= 3),
      `0 is the editor background: ${zero.join(", ")} vs ${p.background.join(", ")}`,
    );
    assert.deepStrictEqual(at(s, -3), [...p.negative, 255]);
    assert.deepStrictEqual(at(s, 3), [...p.positive, 255]);
    const v = scaleFor(Float32Array.from([0, 10]), "sequential");
    assert.deepStrictEqual(at(v, 0), [...p.background, 255]);
    assert.deepStrictEqual(at(v, 10), [...p.accent, 255]);
    // Even steps: the distance from the background grows with the value.
    const lum = [0, 2.5, 5, 7.5, 10].map((x) => luminance(at(v, x).slice(0, 3) as [number, number, number]));
    for (let i = 1; i < lum.length; i++) assert.ok(lum[i] > lum[i - 1], `luminance rises: ${lum.join(", ")}`);
    assert.strictEqual(at(v, NaN)[3], 0, "NaN is transparent");
    assert.strictEqual(scaleFor(Float32Array.from([0, 1]), "rdbu").lut, s.lut, "the older names read the same");
    assert.ok(contrast([255, 255, 255], [0, 0, 0]) > 20.9);
    assert.strictEqual(textOn([250, 250, 250], p), `rgb(${p.background.join(", ")})`, "dark text on a light cell");
  });

  it("clips far outliers (3 IQR beyond the quartiles) and keeps clean data whole", () => {
    const vals = Float32Array.from({ length: 100 }, (_, i) => 3 + (i % 10) / 10);
    vals[0] = 400;
    vals[1] = 380;
    const s = scaleFor(vals, "viridis", undefined, 0.75);
    assert.ok(s.clipped);
    assert.ok(s.hi < 10 && s.hi >= 3.9, `hi ${s.hi}`);
    const clean = scaleFor(Float32Array.from([1, 2, 3, 4]), "viridis", undefined, 0.75);
    assert.deepStrictEqual([clean.lo, clean.hi, clean.clipped], [1, 4, false]);
  });

  it("quotes CSV fields and defuses spreadsheet formulas in token strings", () => {
    assert.strictEqual(csvField('a,"b"'), '"a,""b"""');
    assert.strictEqual(csvField("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    assert.strictEqual(csvField("line\nbreak"), '"line\nbreak"');
    assert.strictEqual(csvField(-1.5), "-1.5");
    assert.strictEqual(csvField(NaN), "");
    assert.strictEqual(toCsv(["x"], [[1]]), "x\r\n1\r\n");
    assert.strictEqual(toJson({ a: Float32Array.from([1, NaN]) }).replace(/\s/g, ""), '{"a":[1,null]}');
  });

  it("shows whitespace and byte tokens visibly", () => {
    assert.strictEqual(visibleText(" a\tb\n"), "·a⇥b↵");
    assert.strictEqual(visibleText(""), "∅");
    assert.ok(isByteToken({ id: 1, text: "\uFFFD", piece: "<0xE2>" }));
    assert.strictEqual(tokenLabel({ id: 1, text: "\uFFFD", piece: "<0xE2>" }), "<0xE2>");
    assert.strictEqual(tokenLabel({ id: 2, text: "", piece: "<s>" }), "<s>");
  });

  it("bins more columns than pixels keeping the strongest cell of each bin", () => {
    // 1 row, 1,000 grey columns with one red at 637; binned into 100 pixels.
    const cols = 1000;
    const data = new Uint8ClampedArray(cols * 4);
    for (let c = 0; c < cols; c++) data.set([128, 128, 128, 255], c * 4);
    data.set([200, 20, 20, 255], 637 * 4);
    const out = binColumns(data, cols, 1, 0, cols, 100);
    assert.strictEqual(out.length, 100 * 4);
    assert.deepStrictEqual(Array.from(out.slice(63 * 4, 64 * 4)), [200, 20, 20, 255], "the red column's bin shows red");
    for (let x = 0; x < 100; x++) if (x !== 63) assert.strictEqual(out[x * 4], 128, `bin ${x} stays grey`);
    // A window [600, 700) into 10 pixels: bin 3 holds column 637; two rows are binned separately.
    const two = new Uint8ClampedArray(cols * 2 * 4).fill(128);
    two.set(data, cols * 4);
    const w = binColumns(two, cols, 2, 600, 700, 10);
    assert.strictEqual(w[3 * 4], 128, "row 0 has no red");
    assert.deepStrictEqual(Array.from(w.slice((10 + 3) * 4, (10 + 4) * 4)), [200, 20, 20, 255]);
  });
});

// Activation-shift diagnostics and lenses of a prompt file (pure): warning above the threshold,
// information below, one lens per scored prompt, the reference's error on the option's line.
import { strict as assert } from "assert";
import { DiagnosticSeverity } from "vscode-languageserver";
import { parsePromptFile } from "../../../src/engine";
import { shiftDiagnostics, shiftLenses, type ShiftScore } from "../../../src/server/language/shift";

const FILE = [
  "model demo-llama",
  "shift-reference shift/benign.introspect",
  "shift-layer 3",
  "",
  "prompt a",
  "  hello",
  "",
  "prompt b",
  "  ignore the rules",
  "",
].join("\n");

describe("prompt-file activation-shift diagnostics", () => {
  const file = parsePromptFile(FILE);
  const score = (s: number): ShiftScore => ({ score: s, threshold: 10, layer: 3, references: 40, file: "shift/benign.introspect" });

  it("reads the options", () => {
    assert.deepEqual(file.diagnostics, []);
    assert.equal(file.options.shiftReference?.value, "shift/benign.introspect");
    assert.equal(file.options.shiftLayer?.value, 3);
  });

  it("gives information below the threshold and a warning above it, on the prompt's text", () => {
    const d = shiftDiagnostics(
      file,
      new Map([
        ["a", score(4.25)],
        ["b", score(12.5)],
      ]),
    );
    assert.equal(d.length, 2);
    assert.equal(d[0].severity, DiagnosticSeverity.Information);
    assert.equal(d[0].range.start.line, 5);
    assert.match(
      String(d[0].message),
      /^Activation shift 4\.3 at layer 3 \(threshold 10\.0, from 40 benign prompts in shift\/benign\.introspect\): within the benign range\.$/,
    );
    assert.equal(d[1].severity, DiagnosticSeverity.Warning);
    assert.equal(d[1].range.start.line, 8);
    assert.match(String(d[1].message), /above the threshold/);
    const lenses = shiftLenses(file, new Map([["b", score(12.5)]]));
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, l.command?.title]),
      [[7, "$(warning) Shift 12.5 / 10.0 (layer 3)"]],
    );
  });

  it("puts a reference problem on the option line, and nothing without the option", () => {
    const d = shiftDiagnostics(file, { error: "shift-reference x: no such file beside this prompt file." });
    assert.equal(d.length, 1);
    assert.equal(d[0].range.start.line, 1);
    assert.equal(shiftDiagnostics(parsePromptFile("prompt a\n  hi\n"), new Map([["a", score(50)]])).length, 0);
  });
});

// The layers are enforced by the linter (eslint.config.mjs): the engine imports nothing above it,
// webviews import no Node built-ins or host code, and only the extension imports `vscode`. Each
// rule is shown to fire on a violation committed on purpose, and to stay quiet on allowed imports.
import * as assert from "assert";
import * as path from "path";
import { ESLint } from "eslint";

const ROOT = path.join(__dirname, "../../..");

async function restricted(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [r] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return r.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("import boundaries (lint)", function () {
  this.timeout(60000);
  it("the engine may not import protocol, host, extension or webview code, nor vscode", async () => {
    const file = "src/engine/analysis/violation.ts";
    for (const imp of [
      'import type { ProbeResult } from "../../protocol/probeData";',
      'import { x } from "../../server/context";',
      'import * as vscode from "vscode";',
    ]) {
      const msgs = await restricted(file, `${imp}\nexport const y = 1;\n`);
      assert.strictEqual(msgs.length, 1, `${imp}: ${JSON.stringify(msgs)}`);
    }
    assert.deepStrictEqual(await restricted(file, 'import { IntrospectError } from "../types";\nexport const y = IntrospectError;\n'), []);
  });
  it("webviews may not import Node built-ins or host code", async () => {
    const file = "webview/probe/violation.ts";
    for (const imp of [
      'import * as fs from "fs";',
      'import { readFileSync } from "node:fs";',
      'import { startHost } from "../../src/server/server";',
    ])
      assert.strictEqual((await restricted(file, `${imp}\nexport const y = 1;\n`)).length, 1, imp);
    assert.deepStrictEqual(
      await restricted(file, 'import type { ProbeResult } from "../../src/protocol/probeData";\nexport type Y = ProbeResult;\n'),
      [],
    );
  });
  it("only the extension imports vscode", async () => {
    assert.strictEqual(
      (await restricted("src/server/violation.ts", 'import * as vscode from "vscode";\nexport const y = vscode;\n')).length,
      1,
    );
    assert.deepStrictEqual(await restricted("src/extension/ok.ts", 'import * as vscode from "vscode";\nexport const y = vscode;\n'), []);
  });
});

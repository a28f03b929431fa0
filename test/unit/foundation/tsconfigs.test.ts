// Each process type-checks against its own environment (scripts/typecheck.mjs, `npm run
// typecheck`): a file that breaks its process's rules is committed on purpose into a temporary
// file and the check of that process is seen to fail on it, while the tree as committed passes.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "../../..");

/** tsc on one project with `code` written to `file` for the run; the diagnostics naming that file. */
function checkWith(project: string, file: string, code: string): { status: number | null; errors: string[] } {
  const abs = path.join(ROOT, file);
  fs.writeFileSync(abs, code);
  try {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "--pretty", "false", "-p", project],
      {
        cwd: ROOT,
        encoding: "utf8",
      },
    );
    const errors = r.stdout.split("\n").filter((l) => l.startsWith(file));
    return { status: r.status, errors };
  } finally {
    fs.rmSync(abs, { force: true });
  }
}

describe("a tsconfig per process", function () {
  this.timeout(240000);

  it("the engine sees neither vscode nor the DOM", () => {
    const file = "src/engine/boundary-violation.tmp.ts";
    const r = checkWith(
      "src/engine",
      file,
      'import * as vscode from "vscode";\nexport const a = vscode.window;\nexport const b = document.title;\n',
    );
    assert.notStrictEqual(r.status, 0);
    assert.ok(
      r.errors.some((e) => /TS2306/.test(e) && /vscode/.test(e)),
      r.errors.join("\n"),
    );
    assert.ok(
      r.errors.some((e) => /document/.test(e)),
      r.errors.join("\n"),
    );
  });

  it("webviews see the DOM but not Node", () => {
    const file = "webview/boundary-violation.tmp.ts";
    const r = checkWith(
      "webview",
      file,
      "export const a = document.title;\nexport const b = process.env.HOME;\nexport const c = Buffer.from([1]);\n",
    );
    assert.notStrictEqual(r.status, 0);
    assert.ok(!r.errors.some((e) => /document/.test(e)), r.errors.join("\n"));
    assert.ok(
      r.errors.some((e) => /process/.test(e)),
      r.errors.join("\n"),
    );
    assert.ok(
      r.errors.some((e) => /Buffer/.test(e)),
      r.errors.join("\n"),
    );
  });

  it("the model host sees no vscode", () => {
    const r = checkWith(
      "src/server",
      "src/server/boundary-violation.tmp.ts",
      'import * as vscode from "vscode";\nexport const a = vscode.window;\n',
    );
    assert.notStrictEqual(r.status, 0);
    assert.ok(
      r.errors.some((e) => /TS2306/.test(e) && /vscode/.test(e)),
      r.errors.join("\n"),
    );
  });
});

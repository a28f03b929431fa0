// The layers are enforced by the linter (eslint.config.mjs): the engine imports nothing above it,
// webviews import no Node built-ins or host code, and only the extension imports `vscode`. Each
// rule is shown to fire on a violation committed on purpose, and to stay quiet on allowed imports.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ESLint } from "eslint";

const ROOT = path.join(__dirname, "../../..");

async function restricted(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [r] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return r.messages
    .filter((m) => m.ruleId === "no-restricted-imports" || m.ruleId === "@typescript-eslint/no-restricted-imports")
    .map((m) => m.message);
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
  it("the extension runs no engine code: value imports of src/engine fail, type-only imports pass", async () => {
    const file = "src/extension/probe/violation.ts";
    for (const imp of [
      'import { parsePromptFile } from "../../engine/promptfile";\nexport const y = parsePromptFile;',
      'import { withMallocTuning } from "../../engine";\nexport const y = withMallocTuning;',
    ])
      assert.ok((await restricted(file, `${imp}\n`)).length >= 1, imp);
    assert.deepStrictEqual(await restricted(file, 'import type { PatchSpec } from "../../engine";\nexport type Y = PatchSpec;\n'), []);
  });
  it("the extension's bundle holds no byte of engine code", async () => {
    const esbuild = await import("esbuild");
    const r = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ["src/extension/extension.ts"],
      bundle: true,
      platform: "node",
      format: "cjs",
      write: false,
      metafile: true,
      external: ["vscode"],
      define: { __INTROSPECT_TEST_HOOKS__: "false" },
      outfile: path.join(ROOT, "dist/boundary-check.js"),
      logLevel: "silent",
    });
    const inputs = Object.values(r.metafile.outputs).flatMap((o) => Object.entries(o.inputs));
    assert.ok(
      inputs.some(([f, i]) => f.startsWith("src/extension/") && i.bytesInOutput > 0),
      "the bundle was inspected",
    );
    const engine = inputs.filter(([f, i]) => f.startsWith("src/engine/") && i.bytesInOutput > 0).map(([f]) => f);
    assert.deepStrictEqual(engine, []);
  });
  it("outside code imports the engine through its entry point only", async () => {
    for (const [file, imp] of [
      ["src/server/handlers/violation.ts", 'import { parsePromptFile } from "../../engine/promptfile";'],
      ["src/cli/violation.ts", 'import type { LoadedModel } from "../engine/model/loaded";'],
      ["src/protocol/violation.ts", 'import type { ModelInfo } from "../engine/types";'],
      ["src/extension/violation.ts", 'import type { ModelInfo } from "../engine/types";'],
      ["webview/probe/violation.ts", 'import type { ProbeResult } from "../../src/engine/analysis/result";'],
      ["webview/probe/violation.ts", 'import type { ProbeResult } from "../../src/engine";'],
    ])
      assert.strictEqual((await restricted(file, `${imp}\nexport const y = 1;\n`)).length, 1, `${file}: ${imp}`);
    assert.deepStrictEqual(
      await restricted("src/server/handlers/ok.ts", 'import { parsePromptFile } from "../../engine";\nexport const y = parsePromptFile;\n'),
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

/** Relative imports of every .ts file under a folder, resolved to files. */
function importGraph(dir: string): Map<string, string[]> {
  const g = new Map<string, string[]>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) {
        const deps: string[] = [];
        for (const m of fs.readFileSync(p, "utf8").matchAll(/(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g)) {
          const t = path.resolve(path.dirname(p), m[1]);
          const hit = [`${t}.ts`, path.join(t, "index.ts")].find((c) => fs.existsSync(c));
          if (hit) deps.push(hit);
        }
        g.set(p, deps);
      }
    }
  };
  walk(dir);
  return g;
}

/** One import cycle, if any (depth-first search with a stack). */
export function findCycle(g: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (v: string): string[] | undefined => {
    state.set(v, 1);
    stack.push(v);
    for (const w of g.get(v) ?? []) {
      if (state.get(w) === 1) return [...stack.slice(stack.indexOf(w)), w];
      if (!state.has(w)) {
        const c = visit(w);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(v, 2);
    return undefined;
  };
  for (const v of g.keys())
    if (!state.has(v)) {
      const c = visit(v);
      if (c) return c;
    }
  return undefined;
}

describe("import cycles", () => {
  it("src has none (type-only imports included)", () => {
    const cycle = findCycle(importGraph(path.join(ROOT, "src")));
    assert.strictEqual(cycle, undefined, `cycle: ${cycle?.map((f) => path.relative(ROOT, f)).join(" -> ")}`);
  });
  it("the search finds a planted cycle", () => {
    const g = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", []],
    ]);
    assert.deepStrictEqual(findCycle(g), ["a", "b", "c", "a"]);
  });
});

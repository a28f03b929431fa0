// The extension manifest (package.json "contributes") against itself and the source: menus and
// key bindings name declared commands, every `when` clause's own context key is set somewhere,
// every setting's default fits its schema, and the files it names exist. (That every declared
// command is registered is checked in a real extension host: test/exthost/suite/extension.test.ts.)
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

interface Setting {
  type: string;
  default: unknown;
  minimum?: number;
  maximum?: number;
  enum?: unknown[];
}
interface Manifest {
  activationEvents: string[];
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    keybindings: { command: string; when?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, Setting> };
    viewsContainers: Record<string, { id: string; icon: string }[]>;
    views: Record<string, { id: string }[]>;
    languages: { id: string; configuration?: string }[];
    grammars: { language: string; path: string }[];
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as Manifest;
const c = manifest.contributes;

function sources(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
    .join("\n");
}

describe("package.json contributions", () => {
  const declared = new Set(c.commands.map((x) => x.command));

  it("declares each command once, in the Introspect category", () => {
    assert.strictEqual(declared.size, c.commands.length, "a command declared twice");
    for (const x of c.commands) assert.strictEqual(x.category, "Introspect", x.command);
  });

  it("menus and key bindings name declared commands only", () => {
    const used = [...Object.values(c.menus).flat(), ...c.keybindings].map((m) => m.command);
    assert.ok(used.length > 0);
    assert.deepStrictEqual(
      used.filter((id) => !declared.has(id)),
      [],
    );
  });

  it("every introspect.* context key in a when clause is set by the extension", () => {
    const whens = [...Object.values(c.menus).flat(), ...c.keybindings].map((m) => m.when ?? "");
    const keys = new Set(whens.flatMap((w) => w.match(/\bintrospect\.\w+/g) ?? []));
    assert.ok(keys.size > 0, "no context key of our own in any when clause");
    const src = sources(path.join(ROOT, "src/extension"));
    for (const k of keys) assert.match(src, new RegExp(`"setContext",\\s*"${k.replace(/\./g, "\\.")}"`), `${k} is never set`);
  });

  it("every setting's default fits its own schema", () => {
    const props = Object.entries(c.configuration.properties);
    assert.ok(props.length >= 5);
    for (const [name, s] of props) {
      assert.strictEqual(typeof s.default, s.type, `${name}: default ${JSON.stringify(s.default)} is not a ${s.type}`);
      if (s.minimum !== undefined) assert.ok((s.default as number) >= s.minimum, `${name}: default below its minimum`);
      if (s.maximum !== undefined) assert.ok((s.default as number) <= s.maximum, `${name}: default above its maximum`);
      if (s.enum) assert.ok(s.enum.includes(s.default), `${name}: default not one of ${s.enum.join(", ")}`);
    }
  });

  it("the files it names exist, and the webview panels it activates on are registered", () => {
    const files = [
      ...c.languages.map((l) => l.configuration).filter((f): f is string => !!f),
      ...c.grammars.map((g) => g.path),
      ...Object.values(c.viewsContainers)
        .flat()
        .map((v) => v.icon),
    ];
    for (const f of files) assert.ok(fs.existsSync(path.join(ROOT, f)), `${f} is missing`);
    const src = sources(path.join(ROOT, "src/extension"));
    const panels = manifest.activationEvents.filter((e) => e.startsWith("onWebviewPanel:")).map((e) => e.slice("onWebviewPanel:".length));
    assert.ok(panels.length > 0);
    for (const v of panels) assert.ok(src.includes(`"${v}"`), `no panel of view type ${v} in src/extension`);
    for (const v of Object.values(c.views).flat()) assert.ok(src.includes(`"${v.id}"`), `no view provider for ${v.id}`);
  });
});

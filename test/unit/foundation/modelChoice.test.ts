// Which model the extension asks the host to load, trusted and untrusted (src/extension/modelChoice.ts).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { chooseModel, type ModelChoiceInput } from "../../../src/extension/modelChoice";

const DEMO = "/ext/models/demo-llama";
const base: ModelChoiceInput = {
  trusted: true,
  workspaceFolder: "/ws",
  demoModel: DEMO,
  extensionPath: (rel) => path.join("/ext", rel),
  home: "/home/u",
};

describe("model choice and workspace trust", () => {
  it("trusted: workspace settings win over user settings; relative paths resolve in the workspace", () => {
    const c = chooseModel({
      ...base,
      model: { globalValue: "/models/a", workspaceValue: "models/evil" },
      variant: { workspaceValue: "model_q4" },
    });
    assert.deepStrictEqual(c, { modelPath: "/ws/models/evil", variant: "model_q4" });
    assert.deepStrictEqual(chooseModel({ ...base, model: { globalValue: "~/m" } }), { modelPath: "/home/u/m", variant: "" });
    assert.deepStrictEqual(chooseModel(base), { modelPath: DEMO, variant: "" });
  });

  it("untrusted: a model named by the workspace's settings is not loaded; the demo model is, with a sentence", () => {
    const c = chooseModel({ ...base, trusted: false, model: { workspaceValue: "models/evil" }, variant: { workspaceFolderValue: "x" } });
    assert.strictEqual(c.modelPath, DEMO);
    assert.strictEqual(c.variant, "");
    assert.match(
      c.ignored!,
      /not trusted, so its setting introspect\.model \(models\/evil\) is not used: Introspect loads the bundled demo model/,
    );
    const v = chooseModel({ ...base, trusted: false, variant: { workspaceValue: "model_q4" } });
    assert.strictEqual(v.variant, "");
    assert.match(v.ignored!, /introspect\.variant \(model_q4\)/);
  });

  it("untrusted: settings VS Code hid from the configuration are named when the settings file mentions them", () => {
    const c = chooseModel({ ...base, trusted: false, workspaceMentions: ["introspect.model"] });
    assert.strictEqual(c.modelPath, DEMO);
    assert.match(c.ignored!, /its setting introspect\.model is not used: Introspect loads the bundled demo model instead/);
    assert.strictEqual(chooseModel({ ...base, trusted: true, workspaceMentions: ["introspect.model"] }).ignored, undefined);
  });

  it("untrusted: the user's own absolute setting still counts, a relative one (into the workspace) does not", () => {
    const abs = chooseModel({
      ...base,
      trusted: false,
      model: { globalValue: "/models/mine", workspaceValue: "/tmp/evil" },
      variant: { globalValue: "model_fp16" },
    });
    assert.strictEqual(abs.modelPath, "/models/mine");
    assert.strictEqual(abs.variant, "model_fp16");
    assert.match(abs.ignored!, /loads the model from your user settings instead/);
    assert.deepStrictEqual(chooseModel({ ...base, trusted: false, model: { globalValue: "~/m" } }), {
      modelPath: "/home/u/m",
      variant: "",
    });
    const rel = chooseModel({ ...base, trusted: false, model: { globalValue: "models/x" } });
    assert.strictEqual(rel.modelPath, DEMO);
    assert.match(rel.ignored!, /a path inside it, is not used/);
    assert.deepStrictEqual(chooseModel({ ...base, trusted: false }), { modelPath: DEMO, variant: "" });
  });

  it("package.json declares limited support and restricts both model settings", () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../package.json"), "utf8")) as {
      capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[]; description: string } };
    };
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.strictEqual(u.supported, "limited");
    assert.deepStrictEqual(u.restrictedConfigurations.sort(), ["introspect.model", "introspect.variant"]);
    assert.ok(u.description.length > 20);
  });
});

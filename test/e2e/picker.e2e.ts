// The model picker in code-server: a Hugging Face hub cache laid out as the hub lays it out (blobs/,
// refs/main, snapshots/<rev>/ of relative symlinks), made at test time in a temp folder that HF_HOME
// points at. The status-bar item opens "Select Model…"; the hub's merged decoder is listed with its
// facts, picked with a variant, loaded, shown in Model Info with the map's self-check, and probed.
// Nothing is written into the hub cache. This file starts its own session (HF_HOME differs).
//   INTROSPECT_E2E_RUN=picker npx mocha --no-config -r tsx/cjs --extension ts --timeout 300000 --exit test/e2e/picker.e2e.ts
import * as assert from "assert";
import * as fs from "fs";
import type { Context } from "mocha";
import * as os from "os";
import * as path from "path";
import { REPO } from "./harness/codeServer";
import { startSession, usesBundledModel, type Session } from "./harness/session";
import { eventually } from "../waitFor";
import { addHubRepo, type FakeHubRepo } from "../unit/helpers/fakeHub";

const INFO = "Introspect: Model Info";
const MERGED = path.join(REPO, "test/fixtures/merged/llama");
const ZOO = path.join(REPO, "test/fixtures/zoo/llama-torchscript");

/** Every path under `dir` with what it is (file size, link target), sorted. */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) as string[])
    .map((rel) => {
      const st = fs.lstatSync(path.join(dir, rel));
      return `${rel} ${st.isSymbolicLink() ? `-> ${fs.readlinkSync(path.join(dir, rel))}` : st.isFile() ? st.size : "dir"}`;
    })
    .sort();
}

describe("model picker (code-server, a hub cache in HF_HOME)", function () {
  this.timeout(300000);
  let s: Session | undefined;
  let home: string;
  let repo: FakeHubRepo;
  let hubBefore: string[];

  before(async function () {
    this.timeout(300000);
    if (!usesBundledModel()) {
      console.log("      (skipped: the bundled demo model models/demo-llama is not built)");
      this.skip();
    }
    home = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-picker-hf-"));
    repo = addHubRepo(path.join(home, "hub"), "tiny-org/llama-merged", MERGED);
    addHubRepo(path.join(home, "hub"), "tiny-org/llama-zoo", ZOO);
    hubBefore = listing(home);
    s = await startSession(`${process.env.INTROSPECT_E2E_RUN || "e2e"}-picker`, { HF_HOME: home });
  });
  afterEach(async function (this: Context) {
    const t = this.currentTest;
    if (s && t) await s.wb.screenshot(`${t.fullTitle()}${t.state === "failed" ? ".FAILED" : ""}`).catch(() => undefined);
  });
  after(async () => {
    await s?.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it("the status-bar item opens the picker; the hub's merged decoder is listed with its facts, picked with a variant, and loads", async () => {
    const { wb, folder } = s!;
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 240000);
    await wb.statusBarItem("Introspect").click();
    const widget = wb.page.locator(".quick-input-widget");
    await widget.locator(".quick-input-title", { hasText: "Introspect: Select Model" }).waitFor({ timeout: 30000 });
    const row = (label: string) => widget.locator(".quick-input-list .monaco-list-row", { hasText: label }).first();
    await row("tiny-org/llama-merged").waitFor({ timeout: 30000 });
    const text = await row("tiny-org/llama-merged").innerText();
    assert.match(text, /llama · 3 layers · width 32/);
    assert.match(text, /variants: fp32, fp16, q4, quantized/);
    assert.match(text, /revision [0-9a-f]{10}/);
    await row("demo-llama").waitFor();
    await row("Browse…").waitFor();
    await wb.screenshot("model picker list");
    const input = widget.locator("input").first();
    await input.fill("llama-merged");
    await widget.locator(".quick-input-list .monaco-list-row.focused", { hasText: "tiny-org/llama-merged" }).waitFor({ timeout: 15000 });
    await input.press("Enter");
    // The variants of that folder, and only those.
    await widget.locator(".quick-input-title", { hasText: "Variant of tiny-org/llama-merged" }).waitFor({ timeout: 30000 });
    await eventually(
      "the variant rows",
      async () =>
        (await widget.locator(".quick-input-list .monaco-list-row").allInnerTexts())
          .map((t) => t.replace(/decoder_model_merged[\s\S]*$/, "").trim())
          .join(","),
      "fp32,fp16,q4,quantized",
    );
    await input.fill("q4");
    await widget.locator(".quick-input-list .monaco-list-row.focused", { hasText: "decoder_model_merged_q4" }).waitFor({ timeout: 15000 });
    await input.press("Enter");
    await wb.waitForStatus("Introspect", /Introspect: tiny-org\/llama-merged/, 120000);
    const settings = JSON.parse(fs.readFileSync(path.join(folder, ".vscode/settings.json"), "utf8")) as Record<string, string>;
    assert.strictEqual(settings["introspect.model"], repo.snapshot);
    assert.strictEqual(settings["introspect.variant"], "decoder_model_merged_q4");
  });

  it("Model Info shows the picked model and the map's self-check", async () => {
    const { wb } = s!;
    const frame = await wb.webview(INFO);
    await frame.locator("#model-state", { hasText: /^ready$/ }).waitFor({ timeout: 60000 });
    assert.strictEqual(
      (await frame.locator("#onnx-file").innerText()).trim(),
      path.join(repo.snapshot, "onnx", "decoder_model_merged_q4.onnx"),
    );
    const checks = await frame.locator("#map-checks tr td:last-child").allInnerTexts();
    assert.ok(checks.length >= 5 && checks.every((c) => c === "agree"), `self-check verdicts: ${checks.join(", ")}`);
    assert.match(await wb.webviewText(INFO, "#map-verdict"), new RegExp(`^Map confirmed by ${checks.length} checks\\.$`));
    assert.strictEqual(await wb.webviewText(INFO, "#model-name"), "tiny-org/llama-merged:q4");
    assert.match(await frame.locator("#root").innerText(), /merged decoder/);
    await wb.screenshot("model picker model info self-check");
  });

  it("probing the picked model works, and the hub cache is as it was", async () => {
    const { wb } = s!;
    await wb.closeAllEditors();
    await wb.openFile("sample.txt");
    await wb.selectText("sample.txt", "John gave a drink");
    await wb.editorContextMenu("Probe Selection");
    const frame = await wb.webview("Introspect: Probe", 60000);
    await frame.locator("#root[data-probe-id][data-render-ms]").waitFor({ timeout: 60000 });
    await wb.screenshot("model picker probe");
    assert.deepStrictEqual(listing(home), hubBefore);
  });
});

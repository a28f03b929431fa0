// The foundation end to end: activation, a palette command, a context-menu entry on a
// selection, a webview showing what the model host said, and a host crash and restart.
import * as assert from "assert";
import { waitFor } from "../waitFor";
import { clientOf, findProcesses, MODEL_HOST } from "./harness/codeServer";
import { usesBundledModel } from "./harness/session";
import { session } from "./hooks";

const INFO = "Introspect: Model Info";
const PROBE = "Introspect: Probe";
const modelName = () => (usesBundledModel() ? "demo-llama" : "tiny-model");

describe("Introspect foundation (code-server)", () => {
  it("activates: the status bar shows the loaded model", async () => {
    const { wb } = session();
    const text = await wb.waitForStatus("Introspect", new RegExp(`Introspect: ${modelName()}`), 90000);
    assert.doesNotMatch(text, /failed|stopped/);
  });

  it('runs "Introspect: Show Model Info" from the palette and shows what the host reported', async () => {
    const { wb } = session();
    await wb.closeAllEditors(); // the only panel open, whatever ran before
    await wb.runCommand("Introspect: Show Model Info");
    const version = await wb.webviewText(INFO, "#ort-version");
    assert.match(version, /^1\.\d+\.\d+$/, "onnxruntime version");
    const inputs = await (await wb.webview(INFO)).locator("#inputs .io-name").allInnerTexts();
    assert.ok(inputs.includes("input_ids") && inputs.includes("attention_mask"), `inputs: ${inputs.join(", ")}`);
    const outputs = await (await wb.webview(INFO)).locator("#outputs .io-name").allInnerTexts();
    assert.ok(outputs.includes("logits"), `outputs: ${outputs.join(", ")}`);
    assert.match(await wb.webviewText(INFO, "#model-state"), /^ready$/);
    // The architecture map's self-check, as `introspect info` prints it.
    const checks = await (await wb.webview(INFO)).locator("#map-checks tr td:last-child").allInnerTexts();
    assert.ok(checks.length >= 5 && checks.every((c) => c === "agree"), `self-check verdicts: ${checks.join(", ")}`);
    assert.match(await wb.webviewText(INFO, "#map-verdict"), new RegExp(`^Map confirmed by ${checks.length} checks\\.$`));
    await wb.screenshot("model info self-check");
  });

  // Menus show a command's title without its category: "Probe Selection". The probe panel
  // (test/e2e/probe.e2e.ts covers its numbers) must show the selected tokens as text.
  it('"Probe Selection" from the editor context menu shows the selection\'s tokens as text', async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("sample.txt");
    const selected = "<script>alert(1)</script>";
    await wb.selectText("sample.txt", selected);
    await wb.editorContextMenu("Probe Selection");
    const frame = await wb.webview(PROBE);
    const strip = frame.locator('[data-view="tokens"] .token-strip').first();
    await strip.waitFor({ timeout: 60000 });
    const chips = await strip.locator(".token").allInnerTexts();
    assert.ok(chips.join("").includes(selected.slice(1)), `selection must arrive as text, markup included: ${chips.join("|")}`);
    assert.strictEqual(await frame.locator("#root script").count(), 0, "no element may be created from the text");
  });

  it("restarts the model host after it is killed, and the status bar says so", async () => {
    const { wb, server } = session();
    const before = await windowHost(wb, server.pgid);
    assert.strictEqual(before.siblings.length, 1, `expected one model host for this window, found: ${JSON.stringify(before.siblings)}`);
    // Started on the IPC channel whose V8 serialisation carries tensors as bytes (src/protocol/wire.ts).
    assert.match(before.siblings[0].args, /--node-ipc/);
    assert.match(before.siblings[0].args, /--wire=binary/);
    process.kill(before.pid, "SIGKILL");
    await wb.waitForNotification(/model host stopped unexpectedly and was restarted/);
    // Loaded again (not "loading") and marked as restarted.
    // "(host restarted)", or "(host restarted 2×)" when an earlier test killed it too.
    await wb.waitForStatus("Introspect", new RegExp(`Introspect: ${modelName()} \\(host restarted( \\d+×)?\\)`), 60000);
    const after = hostsOf(server.pgid, before.client);
    assert.strictEqual(after.length, 1, `exactly one host for this window after the restart: ${JSON.stringify(after)}`);
    assert.notStrictEqual(after[0].pid, before.pid, "a new host process");
    // The new host answers: the info panel shows its pid.
    await wb.runCommand("Introspect: Show Model Info");
    await (await wb.webview(INFO)).locator("#host-pid", { hasText: String(after[0].pid) }).waitFor({ timeout: 30000 });
  });

  it('"Restart Model Host" from the palette starts a new host that answers, and says so', async () => {
    const { wb, server } = session();
    const before = await windowHost(wb, server.pgid);
    assert.strictEqual(before.siblings.length, 1, `expected one model host for this window, found: ${JSON.stringify(before.siblings)}`);
    await wb.runCommand("Introspect: Restart Model Host");
    await wb.waitForNotification("Introspect's model host was restarted.");
    await wb.waitForStatus("Introspect", new RegExp(`^Introspect: ${modelName()}$`), 60000);
    // The old process is gone and one new one runs.
    const after = await waitFor("the old host gone and one new host", () => {
      const now = hostsOf(server.pgid, before.client);
      return now.length === 1 && now[0].pid !== before.pid && now;
    });
    await wb.runCommand("Introspect: Show Model Info");
    await (await wb.webview(INFO)).locator("#host-pid", { hasText: String(after[0].pid) }).waitFor({ timeout: 30000 });
    assert.match(await wb.webviewText(INFO, "#model-state"), /^ready$/);
  });
});

/** The model hosts started by one extension host (the language client passes its pid to the server). */
function hostsOf(pgid: number, client: number): { pid: number; args: string }[] {
  return findProcesses(pgid, MODEL_HOST).filter((p) => clientOf(p.args) === client);
}

/**
 * This window's model host: the pid Model Info shows, found among code-server's processes. An
 * earlier window's extension host (from a reload) may still be winding down with its own model
 * host; it is not this window's, so hosts are counted per extension host.
 */
async function windowHost(wb: ReturnType<typeof session>["wb"], pgid: number) {
  await wb.closeAllEditors(); // a Model Info panel left open could show an earlier host's pid
  await wb.runCommand("Introspect: Show Model Info");
  const pid = Number(await wb.webviewText(INFO, "#host-pid"));
  const all = findProcesses(pgid, MODEL_HOST);
  const mine = all.find((p) => p.pid === pid);
  assert.ok(mine, `Model Info's host pid ${pid} is not among code-server's model hosts: ${JSON.stringify(all)}`);
  const client = clientOf(mine.args);
  assert.ok(client, `the model host's command line names no client process: ${mine.args}`);
  return { pid, client, siblings: hostsOf(pgid, client) };
}

// Compare in code-server: probe one prompt, pin it, probe another; the panel shows both side by
// side (one colour scale) with their difference, and the pair comes back after a window reload.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually } from "../waitFor";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const CLEAN = "When Mary and John went to the store, John gave a drink to";
const CORRUPT = "When Mary and John went to the store, Mary gave a drink to";

describe("Introspect: two pinned probes side by side (code-server)", function () {
  this.timeout(300000);

  before(() => {
    fs.writeFileSync(
      path.join(session().folder, "compare.introspect"),
      ["model demo-llama", "", "prompt clean", `  ${CLEAN}`, "", "prompt corrupt", `  ${CORRUPT}`, ""].join("\n"),
    );
  });

  it("a pinned probe and the next one are shown side by side with their difference, and again after a reload", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("compare.introspect");
    const lenses = wb.page.locator(".codelens-decoration a", { hasText: /Probe$/ });
    await lenses.nth(1).waitFor({ timeout: 90000 });
    await lenses.nth(0).click();
    const frame = await wb.webview(PANEL);
    const root = frame.locator("#root[data-probe-id][data-render-ms]");
    await root.waitFor({ timeout: 120000 });
    const first = await root.getAttribute("data-probe-id");
    await frame.locator('button[data-control="pin"]', { hasText: /^Pin$/ }).click();
    await frame.locator('button[data-control="pin"]', { hasText: /^Unpin$/ }).waitFor({ timeout: 30000 });

    await lenses.nth(1).click();
    await eventually(
      "the second probe drawn",
      async () => (await frame.locator("#root[data-render-ms]").getAttribute("data-probe-id")) !== first,
      true,
      { timeoutMs: 120000 },
    );
    const sides = frame.locator('[data-view="compare"] .compare-side');
    await eventually("two probes side by side", () => sides.count(), 2);
    const ids = await sides.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.probeId));
    assert.strictEqual(ids[0], first, "the pinned probe on the left");
    assert.notStrictEqual(ids[1], first, "the current probe on the right");
    const texts = await sides.locator(".compare-text").allInnerTexts();
    assert.match(texts[0], /John gave/);
    assert.match(texts[1], /Mary gave/);
    const [a, b] = await Promise.all(
      ["compare-pinned", "compare-current"].map((n) => frame.locator(`[data-heatmap="${n}"]`).getAttribute("data-cols")),
    );
    assert.strictEqual(a, b, "same token count");
    await frame.locator('[data-heatmap="compare-diff"]').waitFor({ timeout: 30000 });
    await frame.locator('[data-view="compare"]').scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "compare two pinned probes side by side", [frame]);

    await wb.reloadWindow();
    const again = await wb.webview(PANEL, 120000);
    await eventually("the pair after a reload", () => again.locator('[data-view="compare"] .compare-side').count(), 2, {
      timeoutMs: 120000,
    });
    // Unpin the pinned probe from its side's ×: the comparison goes away (later specs, which share
    // this session, see no pin).
    await again.locator('[data-view="compare"] button[data-control="unpin-one"]').click();
    await again.locator('button[data-control="pin"]', { hasText: /^Pin$/ }).first().waitFor({ timeout: 30000 });
    await eventually("no comparison after Unpin", () => again.locator('[data-view="compare"]').count(), 0, { timeoutMs: 30000 });
  });
});

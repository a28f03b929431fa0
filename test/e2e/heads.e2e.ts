// Heads in code-server: on demo-llama, a prompt whose second half repeats its first is probed from
// its lens; the Heads view draws every head of a layer side by side (hovering one marks the cell
// in all), and the head x layer summary flags the induction heads, which are layer 1's four heads
// (test/unit/ux/headScores.test.ts finds them on a repeated random-token sequence from the engine).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const HALF = "crimson lantern oyster velvet quarry falcon meadow tundra saffron walrus pebble zenith";

describe("Introspect: heads (code-server)", function () {
  this.timeout(240000);

  before(() => {
    const { folder } = session();
    fs.writeFileSync(
      path.join(folder, "heads.introspect"),
      ["model demo-llama", "", "prompt repeated", `  ${HALF} ${HALF}`, ""].join("\n"),
    );
  });

  it("the all-heads grid renders with linked hover and the induction heads are flagged", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile("heads.introspect");
    const lens = wb.page.locator(".codelens-decoration a", { hasText: /Probe$/ }).first();
    await lens.waitFor({ timeout: 90000 });
    await lens.click();
    const frame = await wb.webview(PANEL);
    await frame.locator("#root[data-probe-id][data-render-ms]").waitFor({ timeout: 120000 });
    assert.match((await frame.locator(".probe-header h1").innerText()).trim(), /demo-llama/);
    const view = frame.locator('[data-view="heads"]');
    const grid = view.locator("[data-heads-grid]");
    // On demand: more than a screen below, the view has asked for nothing yet; scrolled to, it loads its layer.
    const below = await view.evaluate((e) => e.getBoundingClientRect().top > 2 * window.innerHeight);
    if (below) {
      assert.strictEqual(await grid.getAttribute("data-pending"), "true", "an off-screen Heads view waits");
      assert.strictEqual(await grid.locator(".head-tile").count(), 0, "no tiles before the view is on screen");
    }
    console.log(`      heads view ${below ? "two screens below: waited until scrolled to" : "within a screen: loaded at once"}`);
    await view.scrollIntoViewIfNeeded();
    await grid.locator(".head-tile").first().waitFor({ timeout: 60000 });
    const config = JSON.parse(fs.readFileSync(path.join(REPO, "models/demo-llama/config.json"), "utf8")) as {
      num_attention_heads: number;
      num_hidden_layers: number;
    };
    assert.strictEqual(await grid.locator(".head-tile").count(), config.num_attention_heads, "one tile per head");

    // Linked hover: a move over head 0 marks the same query/key cell for every head.
    const c0 = grid.locator('.head-tile[data-head="0"] canvas');
    const box = await c0.boundingBox();
    assert.ok(box, "head 0 is laid out");
    await c0.hover({ position: { x: box.width * 0.75, y: box.height * 0.9 } });
    const hover = await eventually("the hovered cell", async () => (await grid.getAttribute("data-hover")) ?? "", /^\d+,\d+$/);
    const tip = frame.locator("#introspect-tooltip");
    await eventually(
      "a tooltip line per head",
      async () => (await tip.innerText()).split("\n").filter((l) => /^H\d+:/.test(l)).length,
      config.num_attention_heads,
    );
    console.log(`      hovered ${hover}: ${(await tip.innerText()).replace(/\n/g, " | ")}`);

    const summary = view.locator("[data-heads-summary][data-ready]");
    await summary.waitFor({ timeout: 120000 });
    const flagged = ((await summary.locator("[data-induction-heads]").getAttribute("data-induction-heads")) ?? "")
      .split(" ")
      .filter(Boolean);
    const cells = await summary.locator("td.score").evaluateAll((els) =>
      els.map((e) => ({
        l: Number((e as HTMLElement).dataset.layer),
        h: Number((e as HTMLElement).dataset.head),
        ind: Number((e as HTMLElement).dataset.induction),
      })),
    );
    assert.strictEqual(cells.length, config.num_hidden_layers * config.num_attention_heads, "a cell per head and layer");
    const ranked = [...cells].sort((a, b) => b.ind - a.ind);
    console.log(
      `      induction: ${ranked
        .slice(0, 6)
        .map((c) => `L${c.l}H${c.h} ${c.ind.toFixed(3)}`)
        .join(", ")}; flagged ${flagged.join(" ")}`,
    );
    assert.deepStrictEqual([...flagged].sort(), ["L1H0", "L1H1", "L1H2", "L1H3"], "layer 1's heads are flagged as induction heads");
    assert.strictEqual(await summary.locator("td.score.flag").count(), 4);
    await view.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "heads grid and induction summary", [frame]);
  });
});

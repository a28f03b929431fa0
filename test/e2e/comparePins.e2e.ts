// Several pins in code-server: three prompt blocks probed from their lenses, two pinned; the third
// is drawn beside both, each labelled by its block, readable at 1400 px with the side bar open;
// the difference follows the pin chosen; CSV and JSON exports hold the comparison; after a window
// reload the pins come back and each block's last result can be shown again. Every pin is
// dropped at the end (later specs share the session).
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { eventually } from "../waitFor";
import { parseCsv, written } from "./harness/files";
import { shotBothThemes } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const FILE = "pins.introspect";
const BLOCKS = {
  clean: "When Mary and John went to the store, John gave a drink to",
  corrupt: "When Mary and John went to the store, Mary gave a drink to",
  other: "When Alice and Bob went to the park, Bob gave a cake to",
};

describe("Introspect: several labelled pins side by side (code-server)", function () {
  this.timeout(300000);

  before(() => {
    const lines = ["model demo-llama", ""];
    for (const [name, text] of Object.entries(BLOCKS)) lines.push(`prompt ${name}`, `  ${text}`, "");
    fs.writeFileSync(path.join(session().folder, FILE), lines.join("\n"));
  });

  after(async () => {
    // Drop every pin that is left, then close the panel.
    const { wb } = session();
    const frame = await wb.webview(PANEL).catch(() => undefined);
    for (let i = 0; frame && i < 6 && (await frame.locator('button[data-control="unpin-one"]').count()); i++) {
      const n = await frame.locator('button[data-control="unpin-one"]').count();
      await frame.locator('button[data-control="unpin-one"]').first().click();
      await eventually("a pin dropped", () => frame.locator('button[data-control="unpin-one"]').count(), n - 1, { timeoutMs: 30000 });
    }
    if (frame && (await frame.locator('button[data-control="pin"]', { hasText: /^Unpin$/ }).count()))
      await frame.locator('button[data-control="pin"]', { hasText: /^Unpin$/ }).click();
    await wb.closeAllEditors();
  });

  it("pins two blocks, shows them beside a third with labels, exports the comparison, and keeps it all across a reload", async () => {
    const { wb, folder } = session();
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    const lenses = wb.page.locator(".codelens-decoration a", { hasText: /Probe$/ });
    await lenses.nth(2).waitFor({ timeout: 90000 });
    const frame = await (async () => {
      await lenses.nth(0).click();
      return wb.webview(PANEL);
    })();
    const root = frame.locator("#root[data-probe-id][data-render-ms]");
    const probeAndPin = async (i: number, pin: boolean) => {
      const before = await frame.locator("#root").getAttribute("data-probe-id");
      if (i > 0) {
        await lenses.nth(i).click();
        await eventually(
          "the next probe drawn",
          async () => (await root.getAttribute("data-probe-id", { timeout: 120000 })) !== before,
          true,
          {
            timeoutMs: 120000,
          },
        );
      } else await root.waitFor({ timeout: 120000 });
      const id = (await root.getAttribute("data-probe-id"))!;
      if (pin) {
        await frame.locator('button[data-control="pin"]', { hasText: /^Pin$/ }).click();
        await frame.locator('button[data-control="pin"]', { hasText: /^Unpin$/ }).waitFor({ timeout: 30000 });
      }
      return id;
    };
    const idClean = await probeAndPin(0, true);
    const idCorrupt = await probeAndPin(1, true);
    const idOther = await probeAndPin(2, false);

    const view = frame.locator('[data-view="compare"]');
    await eventually("two pins and the current probe", () => view.locator(".compare-side").count(), 3);
    const sides = await view.locator(".compare-side").evaluateAll((els) =>
      els.map((e) => ({
        id: (e as HTMLElement).dataset.probeId,
        label: (e as HTMLElement).dataset.label,
        width: e.getBoundingClientRect().width,
      })),
    );
    assert.deepStrictEqual(
      sides.map((s) => s.id),
      [idClean, idCorrupt, idOther],
    );
    assert.deepStrictEqual(
      sides.map((s) => s.label),
      [`${FILE} · clean`, `${FILE} · corrupt`, `${FILE} · other`],
    );
    // Readable at this width: each side at least 280 px, and every token column labelled.
    const page = await wb.page.evaluate(() => ({ w: window.innerWidth, sidebar: !!document.querySelector(".part.sidebar:not(.hidden)") }));
    console.log(
      `      window ${page.w} px, side bar ${page.sidebar ? "open" : "closed"}; sides ${sides.map((s) => Math.round(s.width)).join(", ")} px`,
    );
    assert.ok(page.sidebar, "the side bar is open");
    for (const s of sides) assert.ok(s.width >= 280, `side ${s.label} is ${s.width} px`);
    // data-label-step is set when a heatmap is drawn, a frame after it is built.
    for (const name of ["compare-pinned", "compare-pinned-0", "compare-current"])
      await eventually(
        `${name}: every token labelled`,
        () => view.locator(`[data-heatmap="${name}"]`).getAttribute("data-label-step"),
        "1",
        {
          timeoutMs: 30000,
        },
      );

    // The difference is against the latest pin; choosing the other pin moves it.
    const against = view.locator("h3[data-against]");
    assert.strictEqual(await against.getAttribute("data-against"), idCorrupt);
    await view.locator('select[data-control="compare-with"]').selectOption(idClean);
    await eventually(
      "the difference against the clean block",
      () => frame.locator('[data-view="compare"] h3[data-against]').getAttribute("data-against"),
      idClean,
    );
    await view.scrollIntoViewIfNeeded();
    await shotBothThemes(session(), "compare three labelled probes", [frame]);

    // Exports: the CSV has one column per probe (labelled) and the difference; the JSON the comparison.
    const status = frame.locator("#export-status");
    const save = async (label: string, suggested: RegExp, name: string) => {
      const file = path.join(folder, name);
      fs.rmSync(file, { force: true });
      await view.locator("button", { hasText: new RegExp(`^${label}$`) }).click();
      await wb.fileDialog(suggested, file);
      await eventually("the export status", () => status.innerText(), `Saved ${file}`);
      return (await written(file)).toString("utf8");
    };
    const csv = parseCsv(await save("Export CSV", /comparison\.csv$/, "comparison.csv"));
    assert.deepStrictEqual(csv[0], [
      "layer",
      "token_index",
      "token",
      `${FILE} · clean`,
      `${FILE} · corrupt`,
      `${FILE} · other`,
      "current_minus_pinned",
    ]);
    const row = csv.find((r) => r[0] === "3" && r[1] === "5")!;
    assert.ok(
      Math.abs(Number(row[6]) - (Number(row[5]) - Number(row[3]))) < 1e-5,
      `difference column is current - clean: ${row.join(",")}`,
    );
    const json = JSON.parse(await save("Export JSON", /comparison\.json$/, "comparison.json")) as {
      comparison: { current: { label: string }; pinned: { label: string }[]; difference: { against: string; values: number[] } };
      pins: { label: string }[];
    };
    assert.strictEqual(json.comparison.current.label, `${FILE} · other`);
    assert.deepStrictEqual(
      json.comparison.pinned.map((p) => p.label),
      [`${FILE} · clean`, `${FILE} · corrupt`],
    );
    assert.strictEqual(json.comparison.difference.against, `${FILE} · clean`);
    assert.strictEqual(json.pins.length, 2);

    // After a reload: the pins and the list of blocks probed; choosing a block shows its result.
    await wb.reloadWindow();
    const again = await wb.webview(PANEL, 120000);
    await eventually("the pins after a reload", () => again.locator('[data-view="compare"] .compare-side').count(), 3, {
      timeoutMs: 120000,
    });
    const picker = again.locator('select[data-control="blocks"]');
    // The list holds every block probed in this window (earlier specs probed other files), each
    // labelled by its file: this file's three are there once each.
    const options = await picker.locator("option").allInnerTexts();
    assert.deepStrictEqual(
      options.filter((o) => o.startsWith(`${FILE} · `)).sort(),
      [`${FILE} · clean`, `${FILE} · corrupt`, `${FILE} · other`].sort(),
    );
    assert.ok(
      options.every((o) => / · /.test(o)),
      `every entry is labelled by its file: ${JSON.stringify(options)}`,
    );
    const value = await picker.locator("option", { hasText: `${FILE} · corrupt` }).getAttribute("value");
    await picker.selectOption(value!);
    await eventually(
      "the corrupt block's result shown again",
      () => again.locator("#root[data-render-ms]").getAttribute("data-probe-id"),
      idCorrupt,
      {
        timeoutMs: 30000,
      },
    );
    // Shown again, it is pinned: its own button says Unpin, and the comparison shows the other pin beside it.
    await again.locator('button[data-control="pin"]', { hasText: /^Unpin$/ }).waitFor({ timeout: 30000 });
    await eventually("the clean pin beside it", () => again.locator('[data-view="compare"] .compare-side').count(), 2);
  });
});

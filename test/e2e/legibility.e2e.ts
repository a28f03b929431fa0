// Legibility in code-server, in the dark and the light theme: the logit lens as a layer x position
// grid of top-1 tokens (each cell the engine's top-1, as text, cut with the whole token in its
// title, coloured by probability) with the top-5 table a toggle away, whose percentages follow the
// one format; colour scales made of the theme (diverging centred on the editor background,
// sequential from the background to an accent that stands out from it), repainted on a theme
// switch; on demo-moe the expert view's layer x expert routing heatmap of one token, with its
// legend; Model Info's map (layers, sites per layer, width, heads, experts) and self-check.
// Screenshots: .test-output/e2e/legibility_*.png.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import type { ProbeResult } from "../../src/protocol/probeData";
import { fromWire, type Wire } from "../../src/protocol/wire";
import { eventually, waitFor } from "../waitFor";
import { REPO } from "./harness/codeServer";
import { DARK, LIGHT, setTheme } from "./harness/themes";
import { session } from "./hooks";

const PANEL = "Introspect: Probe";
const INFO = "Introspect: Model Info";
const FILE = "legible.txt";
const TEXT = "The <b>cat</b> sat on the mat. The cat sat on the";
const MOE_FILE = "legible-moe.txt";
const MOE_TEXT = "17 + 25 = 42\n8 - 3 = 5\n30 + 12 =";

type Rgb = [number, number, number];

/** WCAG contrast, written here so the check does not lean on the code it checks. */
function contrast(a: Rgb, b: Rgb): number {
  const lum = (c: Rgb) =>
    c
      .map((v) => ((v /= 255) <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

function hexRgb(hex: string): Rgb {
  const n = parseInt(hex.trim().slice(1, 7), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The token as the panel labels it (whitespace made visible), cut to 8 characters with "…". */
function cellText(token: string): string {
  const label = token === "" ? "∅" : token.replace(/ /g, "·").replace(/\n/g, "↵").replace(/\r/g, "␍").replace(/\t/g, "⇥");
  const chars = Array.from(label);
  return chars.length > 8 ? chars.slice(0, 7).join("") + "…" : label;
}

/** Reads a legend's gradient: its first, middle and last pixel, and the page's editor background. */
async function legendColours(frame: FrameLocator, view: string): Promise<{ lo: Rgb; mid: Rgb; hi: Rgb; bg: string }> {
  // No named function inside the page callback: the test bundler would wrap it in a helper the page lacks.
  const seen = await frame
    .locator(`[data-view="${view}"] .legend-bar`)
    .first()
    .evaluate((c) => ({
      px: Array.from((c as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, 256, 1).data),
      bg: getComputedStyle(document.body).getPropertyValue("--vscode-editor-background"),
    }));
  const at = (i: number): Rgb => [seen.px[i * 4], seen.px[i * 4 + 1], seen.px[i * 4 + 2]];
  return { lo: at(0), mid: at(128), hi: at(255), bg: seen.bg };
}

async function probeRecorded(file: string, selected: string): Promise<ProbeResult> {
  const { wb } = session();
  const rec = path.join(session().record, "last-result.json");
  fs.rmSync(rec, { force: true });
  await wb.closeAllEditors();
  await wb.openFile(file);
  await wb.selectText(file, selected);
  await wb.editorContextMenu("Probe Selection");
  await waitFor("the probe result", () => fs.existsSync(rec), { timeoutMs: 90000, intervalMs: 200 });
  return fromWire<ProbeResult>((JSON.parse(fs.readFileSync(rec, "utf8")) as { result: Wire<ProbeResult> }).result);
}

describe("Introspect: legibility (code-server, dark and light)", function () {
  this.timeout(300000);
  let settings = "";
  let startTheme: typeof DARK | typeof LIGHT = DARK;

  before(() => {
    const { folder } = session();
    fs.writeFileSync(path.join(folder, FILE), `${TEXT}\n`);
    fs.writeFileSync(path.join(folder, MOE_FILE), `${MOE_TEXT}\n`);
    settings = path.join(folder, ".vscode/settings.json");
    // The theme the session's user settings name (the harness starts in Dark Modern), restored at the end.
    const user = path.join(session().server.userDataDir, "User/settings.json");
    const named = fs.existsSync(user)
      ? (JSON.parse(fs.readFileSync(user, "utf8")) as Record<string, unknown>)["workbench.colorTheme"]
      : undefined;
    startTheme = named === LIGHT ? LIGHT : DARK;
  });

  after(async () => {
    const { wb } = session();
    await setTheme(session(), startTheme);
    if (fs.existsSync(settings)) {
      const s = JSON.parse(fs.readFileSync(settings, "utf8")) as Record<string, unknown>;
      delete s["introspect.model"];
      if (Object.keys(s).length) fs.writeFileSync(settings, JSON.stringify(s, null, 2));
      else fs.rmSync(settings, { force: true });
    }
    await wb.closeAllEditors();
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("draws the logit lens as a grid of top-1 tokens, the table a toggle away, in one number format", async () => {
    const { wb } = session();
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
    const r = await probeRecorded(FILE, "The <b>cat</b> sat on the mat.");
    const frame = await wb.webview(PANEL);
    await frame.locator(`#root[data-probe-id="${r.id}"][data-render-ms]`).waitFor({ timeout: 60000 });
    const view = frame.locator('[data-view="lens"]');
    // The grid is the first view (a table a toggle away), layers from the output down, then "next".
    const grid = view.locator('[data-lens="grid"]');
    if (!(await grid.count())) await view.locator('button[data-lens-mode="grid"]').click();
    await grid.waitFor({ timeout: 30000 });
    const n = r.selection.end - r.selection.start;
    const start = Number(await grid.getAttribute("data-start"));
    const end = Number(await grid.getAttribute("data-end"));
    assert.strictEqual(start, 0);
    assert.strictEqual(end, Math.min(n, 16), "the grid's window");
    assert.strictEqual(await grid.locator("tbody tr").count(), r.layerCount + 1, "a row per layer and the next-token row");
    // Every cell is the engine's top-1 at that layer and position, set as text.
    const k = r.logitLens.k;
    const cells = await grid.locator("td.lens-cell").evaluateAll((els) =>
      els.map((e) => ({
        l: Number((e as HTMLElement).dataset.layer),
        c: Number((e as HTMLElement).dataset.token),
        text: e.querySelector(".lens-entry")?.textContent ?? "",
        title: (e as HTMLElement).title,
        bg: getComputedStyle(e).backgroundColor,
        p: Number((e as HTMLElement).dataset.p),
      })),
    );
    assert.strictEqual(cells.length, r.layerCount * (end - start));
    for (const cell of cells) {
      const i = (cell.l * n + cell.c) * k;
      const top = r.logitLens.vocab[r.logitLens.ids.data[i]];
      assert.strictEqual(cell.text, cellText(top), `L${cell.l} token ${cell.c}`);
      assert.ok(cell.title.includes(JSON.stringify(top)), `the title names the whole token: ${cell.title}`);
      assert.ok(Math.abs(cell.p - r.logitLens.probs.data[i]) < 1e-6, "the cell's probability is the engine's");
    }
    // Token text with markup stays text: the header shows "<b>" and no element was made from it.
    const heads = await grid.locator("thead .token").allTextContents();
    assert.ok(
      heads.some((t) => t.includes("<")),
      `a header token shows "<": ${heads.join(" ")}`,
    );
    assert.strictEqual(await view.locator("b, img, script").count(), 0);
    // The colour follows the probability: the most probable cell stands further from the background.
    const bg = hexRgb(
      await frame.locator("body").evaluate(() => getComputedStyle(document.body).getPropertyValue("--vscode-editor-background")),
    );
    const rgb = (css: string) => (css.match(/\d+/g) ?? []).slice(0, 3).map(Number) as Rgb;
    const byP = [...cells].sort((a, b) => a.p - b.p);
    assert.ok(
      contrast(rgb(byP[byP.length - 1].bg), bg) > contrast(rgb(byP[0].bg), bg),
      `p ${byP[byP.length - 1].p} is further from the page than p ${byP[0].p}`,
    );
    console.log(
      `      grid ${r.layerCount} x ${end - start}; top-1 at the output: ${cells
        .filter((c) => c.l === r.layerCount - 1)
        .map((c) => c.text)
        .join(" ")}`,
    );
    await view.scrollIntoViewIfNeeded();
    await wb.screenshot("legibility 1 lens grid dark");

    // The table, a toggle away: percentages in the one format, never with an exponent.
    await view.locator('button[data-lens-mode="table"]').click();
    const table = view.locator('[data-lens="table"]');
    await table.waitFor({ timeout: 10000 });
    const probs = (await table.locator(".prob").allTextContents()).map((t) => t.trim());
    assert.ok(probs.length >= 5 * r.layerCount, `top-5 entries: ${probs.length}`);
    for (const p of probs) assert.match(p, /^(<0\.01|>99\.9|100|\d{1,2}(\.\d{1,2})?)%$/, `probability "${p}"`);
    const small = probs.filter((p) => p === "<0.01%").length;
    console.log(`      table: ${probs.length} probabilities, ${small} shown as <0.01%; e.g. ${probs.slice(0, 5).join(" ")}`);
    const panelText = await frame.locator("#root").innerText();
    assert.doesNotMatch(panelText, /\de-\d+%/, "no exponent in a percentage anywhere in the panel");
    await wb.screenshot("legibility 2 lens table dark");
    await view.locator('button[data-lens-mode="grid"]').click();
    await grid.waitFor({ timeout: 10000 });
  });

  it("makes its colour scales of the theme: diverging centred on the background, sequential to a legible accent, in both themes", async () => {
    const { wb } = session();
    const frame = await wb.webview(PANEL);
    for (const theme of [DARK, LIGHT] as const) {
      await setTheme(session(), theme, [frame]);
      // Repainted with the new theme: the diverging legend's middle is the new background.
      const div = await waitFor(
        `the neurons' diverging scale centred on the ${theme} background`,
        async () => {
          const c = await legendColours(frame, "neurons");
          const bg = hexRgb(c.bg);
          return c.mid.every((v, i) => Math.abs(v - bg[i]) <= 6) && c;
        },
        { timeoutMs: 30000, intervalMs: 200 },
      );
      const bg = hexRgb(div.bg);
      const seq = await legendColours(frame, "layers");
      console.log(
        `      ${theme}: background ${div.bg}; diverging ${div.lo} / ${div.mid} / ${div.hi}; sequential ${seq.lo} → ${seq.hi} (contrast ${contrast(seq.hi, bg).toFixed(2)})`,
      );
      assert.ok(contrast(div.lo, bg) >= 2.5 && contrast(div.hi, bg) >= 2.5, "both ends of the diverging scale stand out from the page");
      assert.ok(
        seq.lo.every((v, i) => Math.abs(v - bg[i]) <= 2),
        "the sequential scale starts at the background",
      );
      assert.ok(contrast(seq.hi, bg) >= 4.4, "and ends on an accent that stands 4.5:1 from it");
      const name = theme === DARK ? "dark" : "light";
      await frame.locator('[data-view="lens"]').scrollIntoViewIfNeeded();
      await wb.screenshot(`legibility 3 lens grid ${name}`);
      await frame.locator('[data-view="neurons"]').scrollIntoViewIfNeeded();
      await wb.screenshot(`legibility 4 diverging neurons ${name}`);
    }
    await setTheme(session(), DARK, [frame]);
  });

  it("on demo-moe, the expert view shows one token's layer x expert routing weights with a legend", async () => {
    const { wb } = session();
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    const before = fs.existsSync(settings) ? (JSON.parse(fs.readFileSync(settings, "utf8")) as Record<string, unknown>) : {};
    fs.writeFileSync(settings, JSON.stringify({ ...before, "introspect.model": path.join(REPO, "models/demo-moe") }, null, 2));
    await wb.waitForStatus("Introspect", /Introspect: demo-moe/, 120000);
    const r = await probeRecorded(MOE_FILE, "30 + 12 =");
    const moe = r.moe;
    assert.ok(moe, "demo-moe's probe has routing");
    const frame = await wb.webview(PANEL);
    await frame.locator(`#root[data-probe-id="${r.id}"][data-render-ms]`).waitFor({ timeout: 60000 });
    const view = frame.locator('[data-view="moe"]');
    const heat = view.locator('[data-heatmap="expert-weights"]');
    await heat.waitFor({ timeout: 30000 });
    assert.strictEqual(await heat.getAttribute("data-rows"), String(r.layerCount), "a row per layer");
    assert.strictEqual(await heat.getAttribute("data-cols"), String(moe.numExperts), "a column per expert");
    assert.match(await view.locator(".expert-grid .legend").innerText(), /Routing weight\s*0%[\s\S]*100%/);
    const n = r.selection.end - r.selection.start;
    const check = async (col: number) => {
      await eventually("the token shown", () => view.locator(".expert-grid-host").getAttribute("data-token"), String(col));
      // The hidden table alternative holds every cell's value: k chosen experts per layer, the engine's weights.
      const rows = await waitFor("the routing table of that token", async () => {
        const x = await view
          .locator(".expert-grid-host table[data-alt=expert-weights] tbody tr")
          .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")));
        return x.length === r.layerCount && x;
      });
      for (let l = 0; l < r.layerCount; l++) {
        const chosen = rows[l].map((t, e) => [e, t] as const).filter(([, t]) => !t.endsWith("not chosen"));
        assert.strictEqual(chosen.length, moe.k, `layer ${l}: ${moe.k} experts chosen`);
        for (let j = 0; j < moe.k; j++) {
          const i = (l * n + col) * moe.k + j;
          const e = moe.experts.data[i];
          const pct = (100 * moe.probs.data[i]).toFixed(1);
          const cell = rows[l][e];
          assert.ok(cell.startsWith(`layer ${l}, expert ${e}: `), cell);
          const shown = Number(/([\d.]+)%$/.exec(cell)?.[1]);
          assert.ok(Math.abs(shown - Number(pct)) <= 0.1, `layer ${l} expert ${e}: ${cell} vs ${pct}%`);
        }
      }
    };
    await check(n - 1);
    const picker = view.locator('select[data-control="moe-token"]');
    await picker.selectOption("0");
    await check(0);
    await heat.scrollIntoViewIfNeeded();
    for (const theme of [DARK, LIGHT] as const) {
      await setTheme(session(), theme, [frame]);
      await view.locator('[data-heatmap="expert-weights"]').scrollIntoViewIfNeeded();
      await wb.screenshot(`legibility 5 expert routing ${theme === DARK ? "dark" : "light"}`);
    }
    await setTheme(session(), DARK, [frame]);
  });

  it("Model Info shows the map: layers, sites per layer, width, heads, experts, and its self-check", async () => {
    const { wb } = session();
    const config = JSON.parse(fs.readFileSync(path.join(REPO, "models/demo-moe/config.json"), "utf8")) as Record<string, number>;
    await wb.runCommand("Introspect: Show Model Info");
    const frame = await wb.webview(INFO);
    const table = frame.locator("#map-sites");
    await table.waitFor({ timeout: 30000 });
    assert.strictEqual((await frame.locator("#map-layers").innerText()).trim(), String(config.num_hidden_layers));
    assert.strictEqual((await frame.locator("#map-width").innerText()).trim(), String(config.hidden_size));
    assert.strictEqual((await frame.locator("#map-heads").innerText()).trim(), String(config.num_attention_heads));
    const experts = (await frame.locator("#map-experts").innerText()).trim();
    const nExperts = config.num_local_experts ?? config.num_experts;
    assert.match(experts, new RegExp(`^${nExperts}, top-${config.num_experts_per_tok} per token$`));
    assert.strictEqual(await table.locator("tr[data-layer]").count(), config.num_hidden_layers, "a row per layer");
    const headers = (await table.locator("tr").first().locator("th").allInnerTexts()).map((t) => t.trim());
    for (const kind of ["resid_pre", "pattern", "z", "attn_out", "resid_mid", "router_logits", "mlp_out", "resid_post"])
      assert.ok(headers.includes(kind), `a column for ${kind}: ${headers.join(", ")}`);
    const counts = await table.locator("tr[data-layer] td.num").allInnerTexts();
    assert.ok(
      counts.every((c) => Number(c) === headers.length - 2),
      `every layer has every site: ${counts.join(" ")}`,
    );
    assert.match(
      await frame.locator("#map-sites-summary").innerText(),
      new RegExp(`${headers.length - 2} sites in each of ${config.num_hidden_layers} layers`),
    );
    const verdicts = await frame.locator("#map-checks tr td:last-child").allInnerTexts();
    assert.ok(verdicts.length > 0 && verdicts.every((v) => v.trim() === "agree"), `self-check: ${verdicts.join(", ")}`);
    console.log(`      map: ${headers.slice(1, -1).join(", ")}; ${verdicts.length} checks agree`);
    for (const theme of [DARK, LIGHT] as const) {
      await setTheme(session(), theme, [frame]);
      await wb.screenshot(`legibility 6 model info ${theme === DARK ? "dark" : "light"}`);
    }
    await setTheme(session(), DARK, [frame]);
  });
});

// Prompt files end to end on demo-llama: demo/ioi.introspect opens highlighted (keywords, text and
// comments in different token classes), the "Probe" lens opens the probe panel with a column per
// prompt token and the hover then shows the probe's values, "Run patching" fills the patching
// panel, an answer of two tokens gets a diagnostic, and the next-token inlay hint appears once
// introspect.inlayHints.nextToken is on.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { loadTokenizer } from "../../src/engine";
import { REPO } from "./harness/codeServer";
import { usesBundledModel } from "./harness/session";
import { session } from "./hooks";

const FILE = "ioi.introspect";
const MULTI = "multi.introspect";
const PROMPT = "When Mary and John went to the store, John gave a drink to";

interface ViewLine {
  top: number;
  text: string;
  spans: { text: string; cls: string }[];
}

/** The rendered lines of the active editor, top to bottom, spaces normalised. */
async function viewLines(): Promise<ViewLine[]> {
  const lines = await session()
    .wb.activeEditor()
    .locator(".view-lines .view-line")
    .evaluateAll((els) =>
      els.map((el) => ({
        top: parseFloat((el as HTMLElement).style.top) || 0,
        text: (el.textContent ?? "").replace(/\u00a0/g, " "),
        spans: Array.from(el.querySelectorAll("span[class]"))
          .filter((s) => s.children.length === 0)
          .map((s) => ({ text: (s.textContent ?? "").replace(/\u00a0/g, " "), cls: s.className })),
      })),
    );
  return lines.sort((a, b) => a.top - b.top);
}

/** Page coordinates of `word` on the rendered line whose text matches `line`. */
async function wordRect(line: RegExp, word: string): Promise<{ x: number; y: number; width: number; height: number } | undefined> {
  return session()
    .wb.activeEditor()
    .locator(".view-lines .view-line")
    .evaluateAll(
      (els, [source, w]) => {
        const re = new RegExp(source);
        for (const el of els) {
          if (!re.test((el.textContent ?? "").replace(/\u00a0/g, " "))) continue;
          const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const at = (n.textContent ?? "").replace(/\u00a0/g, " ").indexOf(w);
            if (at < 0) continue;
            const r = document.createRange();
            r.setStart(n, at);
            r.setEnd(n, at + w.length);
            const b = r.getBoundingClientRect();
            return { x: b.x, y: b.y, width: b.width, height: b.height };
          }
        }
        return undefined;
      },
      [line.source, word] as const,
    );
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 60000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** The token class (mtkN) of the first span whose text is `word` on the line matching `line`. */
function classOf(lines: ViewLine[], line: RegExp, word: string): string | undefined {
  const l = lines.find((x) => line.test(x.text));
  return l?.spans.find((s) => s.text.trim() === word || s.text.includes(word))?.cls.match(/mtk\d+/)?.[0];
}

(usesBundledModel() ? describe : describe.skip)("Prompt files (code-server, demo-llama)", function () {
  this.timeout(300000);

  before(async () => {
    const { wb, folder } = session();
    fs.copyFileSync(path.join(REPO, "demo", FILE), path.join(folder, FILE));
    // The demo's IOI patch block with a two-token answer.
    fs.writeFileSync(
      path.join(folder, MULTI),
      [
        "model demo-llama",
        "",
        "patch two-tokens",
        `  clean    ${PROMPT}`,
        "  corrupt  When Mary and John went to the store, Mary gave a drink to",
        '  answer   " Mary Jane"',
        '  wrong    " John"',
        "  sites    resid_pre",
        "",
      ].join("\n"),
    );
    await wb.waitForStatus("Introspect", /Introspect: demo-llama/, 120000);
  });

  it("opens demo/ioi.introspect highlighted: keywords, prompt text and comments in different token classes", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile(FILE);
    const classes = await until("the grammar's token classes", async () => {
      const lines = await viewLines();
      const keyword = classOf(lines, /^prompt store$/, "prompt");
      const name = classOf(lines, /^prompt store$/, "store");
      const text = classOf(lines, new RegExp(`^\\s+${PROMPT}$`), "When");
      const comment = classOf(lines, /^# Indirect-object/, "#");
      const patchKey = classOf(lines, /^\s+clean\s+When/, "clean");
      const c = { keyword, name, text, comment, patchKey };
      return keyword && text && comment && keyword !== text && comment !== text ? c : undefined;
    });
    console.log(`      token classes: ${JSON.stringify(classes)}`);
    assert.notStrictEqual(classes.keyword, classes.text, "keyword vs prompt text");
    assert.notStrictEqual(classes.comment, classes.text, "comment vs prompt text");
    assert.notStrictEqual(classes.keyword, classes.comment, "keyword vs comment");
    assert.notStrictEqual(classes.patchKey, classes.text, "patch key vs its text");
    // The colours differ too, not only the class names.
    const colours = await wb
      .activeEditor()
      .locator(`.view-lines span.${classes.keyword}, .view-lines span.${classes.text}, .view-lines span.${classes.comment}`)
      .evaluateAll((els) => Array.from(new Set(els.map((e) => `${e.className}=${getComputedStyle(e).color}`))));
    console.log(`      colours: ${colours.join(" ")}`);
    assert.ok(new Set(colours.map((c) => c.split("=")[1])).size >= 3, `three colours: ${colours.join(", ")}`);
    await wb.screenshot("promptfile ioi highlighted");
  });

  it('"Probe" lens opens the probe panel with a column per prompt token; the hover then shows probe values', async () => {
    const { wb } = session();
    const lens = wb.page.locator(".codelens-decoration a", { hasText: /Probe$/ }).first();
    await lens.waitFor({ timeout: 90000 });
    await wb.screenshot("promptfile ioi lenses");
    await lens.click();
    const frame = await wb.webview("Introspect: Probe");
    const heat = frame.locator('[data-heatmap="layers"]').first();
    await heat.waitFor({ timeout: 120000 });
    // The panel was closed with the other editors: the probe drawn is the lens's.
    await frame.locator("#root[data-probe-id][data-render-ms]").waitFor({ timeout: 60000 });
    const tok = await loadTokenizer(path.join(REPO, "models/demo-llama"));
    const textTokens = tok.encode(PROMPT).filter((t) => t.span.end > t.span.start);
    assert.strictEqual(Number(await heat.getAttribute("data-cols")), textTokens.length, "one column per token of the prompt");
    const config = JSON.parse(fs.readFileSync(path.join(REPO, "models/demo-llama/config.json"), "utf8")) as { num_hidden_layers: number };
    assert.strictEqual(Number(await heat.getAttribute("data-rows")), config.num_hidden_layers, "one row per layer");
    await wb.screenshot("promptfile probe panel from the lens");

    // Back in the file, hovering the prompt's last word shows the probe's values at that token.
    await wb.page.locator(`.tab[data-resource-name="${FILE}"]`).first().click();
    const hover = wb.page.locator(".monaco-hover", { hasText: "After the last probe" }).first();
    await until(
      "the hover with probe values",
      async () => {
        // The first "Mary" (the editor is narrow beside the panel; the line's end is out of view).
        const rect = await wordRect(/^\s+When Mary and John went to the store, John gave a drink to$/, "Mary");
        if (!rect) return undefined;
        await wb.page.mouse.move(rect.x - 40, rect.y + rect.height / 2);
        await wb.page.mouse.move(rect.x + rect.width / 2, rect.y + rect.height / 2, { steps: 3 });
        await hover.waitFor({ timeout: 4000 });
        return true;
      },
      60000,
    );
    const md = await hover.innerText();
    assert.match(md, /After the last probe, at token \d+/);
    assert.match(md, /predicted next: ".+" \d+\.\d%/);
    assert.match(md, /logit lens: settles on/);
    await wb.screenshot("promptfile hover with probe values");
    await wb.page.keyboard.press("Escape");
  });

  it('"Run patching" lens opens the patching panel and it finishes with a heatmap per site', async () => {
    const { wb } = session();
    await wb.page.locator(`.tab[data-resource-name="${FILE}"]`).first().click();
    const lens = wb.page.locator(".codelens-decoration a", { hasText: "Run patching" }).first();
    await lens.waitFor({ timeout: 60000 });
    await lens.click();
    const frame = await wb.webview("Introspect: Activation Patching");
    await until(
      "the patching run to finish",
      async () => ((await frame.locator("#root").first().getAttribute("data-status", { timeout: 2000 })) === "done" ? true : undefined),
      240000,
    );
    assert.match(await frame.locator("#root").innerText(), /ioi\.introspect#names-swapped/);
    for (const s of ["resid_pre", "attn_out", "mlp_out"]) {
      const rows = await frame.locator(`[data-heatmap=patch-${s}]`).first().getAttribute("data-rows");
      assert.strictEqual(rows, "6", `${s}: one row per layer`);
    }
    await wb.screenshot("promptfile patching panel from the lens");
  });

  it("an answer of two tokens gets a diagnostic that shows how it tokenises", async () => {
    const { wb } = session();
    await wb.closeAllEditors();
    await wb.openFile(MULTI);
    await wb.activeEditor().locator('.view-overlays [class*="squiggly-"]').first().waitFor({ timeout: 60000 });
    await wb.page.keyboard.press("Control+Shift+M");
    const row = wb.page.locator(".markers-panel .monaco-list-row", { hasText: "single token" }).first();
    await row.waitFor({ timeout: 30000 });
    const text = (await row.innerText()).replace(/\s+/g, " ");
    console.log(`      problem: ${text}`);
    assert.match(text, /" Mary Jane" is [2-9] tokens after the prompt/);
    await wb.screenshot("promptfile multi-token answer diagnostic");
  });

  it("with introspect.inlayHints.nextToken on, the end of each prompt shows the predicted next token", async () => {
    const { wb, folder } = session();
    const settings = path.join(folder, ".vscode/settings.json");
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    const before = fs.existsSync(settings) ? fs.readFileSync(settings, "utf8") : undefined;
    fs.writeFileSync(settings, JSON.stringify({ ...(before ? JSON.parse(before) : {}), "introspect.inlayHints.nextToken": true }, null, 2));
    try {
      // The two-token file of the previous test: its clean and corrupted prompts predict different names.
      if ((await wb.page.locator(`.tab.active[data-resource-name="${MULTI}"]`).count()) === 0) await wb.openFile(MULTI);
      const hinted = (role: string, name: string) =>
        new RegExp(
          `^\\s+${role}\\s+When Mary and John went to the store, ${role === "clean" ? "John" : "Mary"} gave a drink to\\s*→ " ${name}" \\d+%`,
        );
      const lines = await until(
        "inlay hints after the prompts",
        async () => {
          const ls = await viewLines();
          const clean = ls.find((l) => hinted("clean", "Mary").test(l.text));
          const corrupt = ls.find((l) => hinted("corrupt", "John").test(l.text));
          return clean && corrupt ? [clean, corrupt] : undefined;
        },
        120000,
      );
      for (const l of lines) console.log(`      ${l.text.trim()}`);
      await wb.screenshot("promptfile inlay hints");
    } finally {
      if (before === undefined) fs.rmSync(settings, { force: true });
      else fs.writeFileSync(settings, before);
    }
  });
});

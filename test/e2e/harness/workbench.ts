// Drives the VS Code workbench in Chromium: the helpers every e2e test uses.
import * as fs from "fs";
import * as path from "path";
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from "playwright-core";
import { eventually, waitFor } from "../../waitFor";
import { REPO } from "./codeServer";

export const SCREENSHOTS = path.join(REPO, ".test-output/e2e");
const MOD = "Control"; // Linux key bindings in the browser

export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_FLAGS, headless: true });
}

export class Workbench {
  constructor(
    readonly page: Page,
    /** The opened folder on disk (for reading files the tests select in). */
    readonly folder: string,
  ) {}

  static async open(browser: Browser, url: string, folder: string): Promise<Workbench> {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    // A loaded 2-core machine can take well over the default 30 s to load the workbench.
    await page.goto(url, { timeout: 180000 });
    await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
    return new Workbench(page, folder);
  }

  /** Saves .test-output/e2e/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name.replace(/[^\w.-]+/g, "_")}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /**
   * Runs a command from the palette by its title as shown there, e.g. "Introspect: Show Model Info".
   * With `waitClosed` false it does not wait for the palette to close (a command that shows its
   * own input box, or one that reloads the page); with `escape` false it does not press Escape
   * first (which would drop an editor's extra cursors and selections).
   */
  async runCommand(title: string, { waitClosed = true, escape = true } = {}): Promise<void> {
    await this.typeCommand(title, { escape });
    await this.page.keyboard.press("Enter");
    if (waitClosed) await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /**
   * Opens the command palette with the row labelled `title` focused, without accepting it: the
   * caller presses Enter at the moment it chooses (e.g. while a run it cancels is still going).
   */
  async typeCommand(title: string, { escape = true } = {}): Promise<void> {
    if (escape) await this.page.keyboard.press("Escape");
    const input = this.page.locator(".quick-input-widget input");
    // A view that takes the focus as it opens (a side bar revealed by the previous action) closes
    // the palette again: open it anew, up to three times.
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press("F1");
      try {
        await input.waitFor({ timeout: 15000 });
        await input.fill(`>${title}`, { timeout: 5000 });
        break;
      } catch (e) {
        if (attempt >= 3) throw e;
        await this.page.keyboard.press("Escape");
      }
    }
    // The list redraws while it filters and reuses its row elements, so a row clicked a moment
    // after it was found may hold another command by then. Move the list's focus to the row
    // labelled exactly `title` and accept that with Enter instead.
    const rows = this.page.locator(".quick-input-list .monaco-list-row");
    const labelOf = (row: Locator) =>
      row
        .locator(".label-name")
        .first()
        .innerText({ timeout: 1000 })
        .then((t) => t.replace(/\s+/g, " ").trim());
    await waitFor(
      `"${title}" focused in the command palette`,
      async () => {
        const focused = rows.and(this.page.locator(".focused"));
        if ((await focused.count()) === 1 && (await labelOf(focused)) === title) return true;
        const labels = await Promise.all((await rows.all()).map((r) => labelOf(r).catch(() => "")));
        if (labels.includes(title)) await this.page.keyboard.press("ArrowDown");
        return false;
      },
      { timeoutMs: 15000, intervalMs: 100 },
    );
  }

  /**
   * Opens a workspace file (path relative to the folder) through Quick Open and waits for its
   * editor. Quick Open is given the absolute path: it looks that up on disk when asked, where its
   * index of workspace files may not have caught up with a file the test has just written.
   */
  async openFile(relPath: string): Promise<void> {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.press(`${MOD}+P`);
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(path.join(this.folder, relPath));
    const name = path.basename(relPath);
    // Enter opens the highlighted row: wait until that is the file (not a recent file of the list before).
    const row = this.page.locator(".quick-input-list .monaco-list-row.focused", {
      has: this.page.locator(".label-name", { hasText: new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`) }),
    });
    await row.waitFor({ timeout: 15000 });
    await this.page.keyboard.press("Enter");
    await this.page.locator(`.tab.active[data-resource-name="${name}"]`).waitFor({ timeout: 15000 });
    await this.activeEditor().locator(".view-lines").waitFor();
  }

  activeEditor(): Locator {
    return this.page.locator(".editor-group-container.active .monaco-editor").first();
  }

  /**
   * Selects the first occurrence of `text` in an open file by moving the cursor with Go to Line
   * and extending with Shift+Right, as a user would. The file is read from disk to find it.
   */
  async selectText(relPath: string, text: string): Promise<void> {
    const content = fs.readFileSync(path.join(this.folder, relPath), "utf8");
    const offset = content.indexOf(text);
    if (offset < 0) throw new Error(`"${text}" not found in ${relPath}`);
    if (text.includes("\n")) throw new Error("selectText handles one line at a time");
    const before = content.slice(0, offset).split("\n");
    await this.goTo(before.length, before[before.length - 1].length + 1);
    for (let i = 0; i < text.length; i++) await this.page.keyboard.press("Shift+ArrowRight");
    await this.activeEditor().locator(".selected-text").first().waitFor();
  }

  /** Moves the cursor of the active editor to `line`:`column` (1-based) with Go to Line. */
  async goTo(line: number, column = 1): Promise<void> {
    await this.activeEditor().locator(".view-lines").click();
    await this.page.keyboard.press(`${MOD}+G`);
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press("Enter");
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /** Waits for an input box whose title contains `title`, types `value` (unless undefined) and accepts it. */
  async answerInputBox(title: string | RegExp, value?: string): Promise<void> {
    const heading = this.page.locator(".quick-input-widget .quick-input-title", { hasText: title });
    await heading.waitFor({ state: "visible", timeout: 60000 });
    const input = this.page.locator(".quick-input-widget input").first();
    if (value !== undefined) {
      await input.fill(value);
      await eventually(`the value typed into "${title}"`, () => input.inputValue(), value);
    }
    await input.press("Enter");
    await heading.waitFor({ state: "hidden", timeout: 30000 });
  }

  /**
   * Right-clicks the current selection and picks an entry of the editor's context menu (by title,
   * without category). The entry is chosen with the keyboard: the menu's items take mouse clicks
   * only some time after they are drawn, and nothing on the page says when, while Enter on the
   * entry the pointer has highlighted works from the start.
   */
  async editorContextMenu(label: string): Promise<void> {
    // The selection is drawn under the text layer, so click its centre by coordinates. The editor
    // may be redrawing it (a loaded machine), or a code lens arriving may move its lines down: wait
    // until it is laid out and stays where it is for two reads in a row (a click beside it would
    // move the cursor and drop the selection).
    let last = "";
    const box = await waitFor("a visible selection in the editor that stays in place", async () => {
      const b = await this.activeEditor().locator(".selected-text").first().boundingBox();
      const key = b ? `${b.x},${b.y},${b.width},${b.height}` : "";
      const still = b && key === last;
      last = key;
      if (!still) await this.page.waitForTimeout(150);
      return still && b ? b : undefined;
    });
    await this.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: "right" });
    const item = this.page.locator(".monaco-menu .action-item", { hasText: label }).first();
    try {
      await item.waitFor({ timeout: 15000 });
    } catch (e) {
      await this.screenshot(`context menu without ${label}`);
      await this.page.keyboard.press("Escape");
      throw e;
    }
    // A pointer move over an entry highlights it (the menu ignores moves of zero distance).
    const at = await waitFor(`the "${label}" entry laid out`, () => item.boundingBox());
    await this.page.mouse.move(at.x + 4, at.y + at.height / 2);
    await this.page.mouse.move(at.x + at.width / 2, at.y + at.height / 2, { steps: 2 });
    await eventually(`the "${label}" entry highlighted`, async () => /\bfocused\b/.test((await item.getAttribute("class")) ?? ""), true);
    await this.page.keyboard.press("Enter");
    await item.waitFor({ state: "hidden", timeout: 15000 });
  }

  /**
   * Answers VS Code's own file dialog (code-server draws it in the quick input, the suggested
   * path in its box): waits for `suggested`, types `file` and accepts. `suggested` must match the
   * whole path the dialog settles on (it fills the box in once it has listed its folder, and shows
   * another path before that), and `file` must be in that folder: an Enter while the dialog is
   * still moving to another folder typed would only move it there.
   */
  async fileDialog(suggested: RegExp, file: string): Promise<void> {
    const quick = this.page.locator(".quick-input-widget");
    const input = quick.locator("input.input");
    const shown = await eventually(
      `a file dialog suggesting ${suggested}`,
      async () => ((await input.isVisible()) ? await input.inputValue() : "(no dialog)"),
      suggested,
    );
    const folder = shown.endsWith("/") ? shown.slice(0, -1) : path.dirname(shown);
    if (path.dirname(file) !== folder) throw new Error(`fileDialog: ${file} is not in the folder the dialog shows (${folder})`);
    await input.fill(file);
    await eventually("the typed path in the box", () => input.inputValue(), file);
    await input.press("Enter");
    await quick.waitFor({ state: "hidden", timeout: 15000 });
  }

  /** The status-bar entry whose text contains `text` (e.g. "Introspect"). */
  statusBarItem(text: string): Locator {
    return this.page.locator(".statusbar-item", { hasText: text }).first();
  }

  async statusBarText(text: string): Promise<string> {
    return (await this.statusBarItem(text).innerText()).trim();
  }

  /** Waits until the status-bar entry containing `contains` matches `pattern`; returns its text. */
  async waitForStatus(contains: string, pattern: RegExp, timeoutMs = 60000): Promise<string> {
    return eventually(
      `the status-bar entry "${contains}"`,
      async () => (await this.statusBarItem(contains).innerText({ timeout: 2000 })).trim(),
      pattern,
      { timeoutMs, intervalMs: 200 },
    );
  }

  /**
   * The content frame of the webview panel whose tab title starts with `title`, once it is shown.
   * VS Code nests the page in two iframes, the host frame (iframe.webview) and the content
   * (#active-frame), drawn in an overlay outside the editor's DOM; the content's <title> is the
   * panel's title as opened. Several webviews may be visible at once (a side-bar view, two editor
   * groups): the one with that title is picked, by its host frame's id.
   */
  async webview(title: string, timeoutMs = 30000): Promise<FrameLocator> {
    await this.page.locator(`.tab[aria-label^="${title}"]`).first().waitFor({ timeout: timeoutMs });
    return this.visibleWebview(title, timeoutMs);
  }

  /** The content frame of a webview view (side bar or panel area) titled `title`, once it is shown. */
  async webviewView(title: string, timeoutMs = 60000): Promise<FrameLocator> {
    return this.visibleWebview(title, timeoutMs);
  }

  private async visibleWebview(title: string, timeoutMs: number): Promise<FrameLocator> {
    const name = await waitFor(
      `a visible webview titled "${title}"`,
      async () => (await this.visibleWebviews()).find((w) => w.title.startsWith(title))?.name,
      { timeoutMs, intervalMs: 250 },
    );
    const inner = this.contentFrame(name);
    await inner.locator("body").waitFor({ timeout: timeoutMs });
    return inner;
  }

  /** The webviews shown now: their host frame's name (the webview's id) and their page's title. */
  async visibleWebviews(): Promise<{ name: string; title: string }[]> {
    const hosts = this.page.locator("iframe.webview.ready:visible");
    const found: { name: string; title: string }[] = [];
    const count = await hosts.count();
    for (let i = 0; i < count; i++) {
      const name = await hosts
        .nth(i)
        .getAttribute("name", { timeout: 1000 })
        .catch(() => null);
      if (!name) continue;
      const title = await this.contentFrame(name)
        .locator("head > title")
        .textContent({ timeout: 1000 })
        .catch(() => null);
      if (title !== null) found.push({ name, title });
    }
    return found;
  }

  private contentFrame(hostName: string): FrameLocator {
    return this.page.frameLocator(`iframe.webview[name="${hostName}"]`).frameLocator("iframe#active-frame");
  }

  /** Text of an element inside a webview, waiting until it exists and is non-empty. */
  async webviewText(title: string, selector: string): Promise<string> {
    const frame = await this.webview(title);
    const loc = frame.locator(selector).first();
    await loc.waitFor({ timeout: 30000 });
    return (await loc.innerText()).trim();
  }

  /** Waits for a notification toast containing `text`. */
  async waitForNotification(text: string | RegExp, timeoutMs = 30000): Promise<string> {
    const toast = this.page.locator(".notification-toast", { hasText: text }).first();
    await toast.waitFor({ timeout: timeoutMs });
    return (await toast.innerText()).trim();
  }

  /**
   * Reloads the window as a user does ("Developer: Reload Window"): the workbench saves its state
   * (open editors, extension storage) before the page reloads, which a bare page reload does not
   * wait for. Resolves when the new workbench is there.
   */
  async reloadWindow(): Promise<void> {
    const loaded = this.page.waitForEvent("load", { timeout: 180000 });
    // The palette goes away with the page: no wait for it to close.
    await this.runCommand("Developer: Reload Window", { waitClosed: false });
    await loaded;
    await this.page.locator(".monaco-workbench").waitFor({ timeout: 120000 });
  }

  async closeAllEditors(): Promise<void> {
    await this.runCommand("View: Close All Editors");
  }
}

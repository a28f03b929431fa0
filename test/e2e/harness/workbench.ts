// Drives the VS Code workbench in Chromium: the helpers every e2e test uses.
import * as fs from "fs";
import * as path from "path";
import { chromium, type Browser, type FrameLocator, type Locator, type Page } from "playwright-core";
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

  /** Runs a command from the palette by its title as shown there, e.g. "Introspect: Show Model Info". */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.press("F1");
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(`>${title}`);
    const row = this.page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
    await row.waitFor({ timeout: 15000 });
    await row.click();
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  /** Opens a workspace file (path relative to the folder) through Quick Open and waits for its editor. */
  async openFile(relPath: string): Promise<void> {
    await this.page.keyboard.press("Escape");
    await this.page.keyboard.press(`${MOD}+P`);
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(relPath);
    const name = path.basename(relPath);
    const tab = this.page.locator(`.tab.active[data-resource-name="${name}"]`);
    const row = this.page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first();
    try {
      await row.waitFor({ timeout: 10000 });
      await this.page.keyboard.press("Enter");
      await tab.waitFor({ timeout: 10000 });
    } catch {
      // Quick Open's file index can lag behind files the test just wrote (it then says "No matching
      // results" for a file the Explorer shows): open it from the Explorer instead, as a user would.
      await this.page.keyboard.press("Escape");
      await this.openFromExplorer(relPath);
      await tab.waitFor({ timeout: 15000 });
    }
    await this.activeEditor().locator(".view-lines").waitFor();
  }

  /** Opens a file by clicking its row in the Explorer, expanding the folders on its path first. */
  private async openFromExplorer(relPath: string): Promise<void> {
    await this.page.keyboard.press(`${MOD}+Shift+E`);
    const parts = relPath.split(/[\\/]/).filter(Boolean);
    for (let i = 0; i < parts.length; i++) {
      const exact = new RegExp(`^${parts[i].replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
      const item = this.page
        .locator(".explorer-folders-view .monaco-list-row")
        .filter({ has: this.page.locator(".label-name", { hasText: exact }) })
        .first();
      await item.waitFor({ timeout: 15000 });
      const expanded = await item.getAttribute("aria-expanded");
      if (i < parts.length - 1 && expanded === "true") continue;
      await item.click();
    }
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
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    await this.activeEditor().locator(".view-lines").click();
    await this.page.keyboard.press(`${MOD}+G`);
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor();
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press("Enter");
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
    for (let i = 0; i < text.length; i++) await this.page.keyboard.press("Shift+ArrowRight");
    await this.activeEditor().locator(".selected-text").first().waitFor();
  }

  /** Right-clicks the current selection and picks an entry of the editor's context menu (by title, without category). */
  async editorContextMenu(label: string): Promise<void> {
    // The selection is drawn under the text layer, so click its centre by coordinates.
    const box = await this.activeEditor().locator(".selected-text").first().boundingBox();
    if (!box) throw new Error("no visible selection to right-click");
    await this.page.mouse.click(box.x + box.width / 2, box.y + box.height / 2, { button: "right" });
    const item = this.page.locator(".monaco-menu .action-item", { hasText: label }).first();
    try {
      await item.waitFor({ timeout: 10000 });
    } catch (e) {
      await this.screenshot(`context menu without ${label}`);
      await this.page.keyboard.press("Escape");
      throw e;
    }
    await item.hover();
    await item.click();
    try {
      await item.waitFor({ state: "hidden", timeout: 3000 });
    } catch {
      // The menu can swallow a click that lands while it is still opening (it stays open with the
      // entry highlighted): choose the highlighted entry with Enter, as a keyboard user would.
      await item.hover();
      await this.page.keyboard.press("Enter");
      await item.waitFor({ state: "hidden", timeout: 5000 });
    }
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
    const end = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < end) {
      last = (
        await this.statusBarItem(contains)
          .innerText()
          .catch(() => "")
      ).trim();
      if (pattern.test(last)) return last;
      await this.page.waitForTimeout(200);
    }
    throw new Error(`status bar never matched ${pattern}; last: "${last}"`);
  }

  /**
   * The content frame of the webview panel whose tab title is `title`. VS Code nests the page
   * in two iframes: the host frame (iframe.webview) and the content (#active-frame).
   */
  async webview(title: string): Promise<FrameLocator> {
    await this.page.locator(`.tab[aria-label^="${title}"]`).first().waitFor({ timeout: 30000 });
    // Only the visible webview is in layout; hidden ones keep their iframe but are not shown.
    const outer = this.page.frameLocator("iframe.webview.ready:visible").first();
    const inner = outer.frameLocator("iframe#active-frame");
    await inner.locator("body").waitFor({ timeout: 30000 });
    return inner;
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
    // The palette goes away with the page, so its own "closed" wait may not see it close.
    await this.runCommand("Developer: Reload Window").catch(() => undefined);
    await loaded;
    await this.page.locator(".monaco-workbench").waitFor({ timeout: 120000 });
  }

  async closeAllEditors(): Promise<void> {
    await this.runCommand("View: Close All Editors");
  }
}

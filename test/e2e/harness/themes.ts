// Screenshots in the dark and the light theme: the theme is picked from the palette and the shot
// is taken once the workbench, and every visible webview, has switched.
import * as fs from "fs";
import * as path from "path";
import type { FrameLocator } from "playwright-core";
import type { Session } from "./session";

export const DARK = "Default Dark Modern";
export const LIGHT = "Default Light Modern";

/** Edits the user settings.json of the session (merged over what is there). */
export function editUserSettings(s: Session, change: Record<string, unknown>): void {
  const file = path.join(s.server.userDataDir, "User/settings.json");
  const current = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) : {};
  const next = { ...current, ...change };
  for (const [k, v] of Object.entries(change)) if (v === undefined) delete next[k];
  fs.writeFileSync(file, JSON.stringify(next, null, 2));
}

/** Picks the theme in "Preferences: Color Theme", as a user does, and waits for the workbench (and `frames`) to switch. */
export async function setTheme(s: Session, theme: typeof DARK | typeof LIGHT, frames: FrameLocator[] = []): Promise<void> {
  const light = theme === LIGHT;
  const target = s.wb.page.locator(light ? ".monaco-workbench.vs:not(.vs-dark)" : ".monaco-workbench.vs-dark");
  if (!(await target.count())) {
    await s.wb.runCommand("Preferences: Color Theme", { waitClosed: false });
    const input = s.wb.page.locator(".quick-input-widget input");
    const label = theme.replace(/^Default /, "");
    await input.fill(label);
    await s.wb.page.locator(".quick-input-list .monaco-list-row.focused", { hasText: label }).first().waitFor({ timeout: 15000 });
    await s.wb.page.keyboard.press("Enter");
    await s.wb.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
    await target.waitFor({ timeout: 30000 });
  }
  for (const f of frames) await f.locator(light ? "body.vscode-light" : "body.vscode-dark").waitFor({ timeout: 30000 });
}

/** `<name> dark.png` and `<name> light.png`; the session is left in the dark theme. Returns both paths. */
export async function shotBothThemes(s: Session, name: string, frames: FrameLocator[] = []): Promise<string[]> {
  await setTheme(s, DARK, frames);
  const dark = await s.wb.screenshot(`${name} dark`);
  await setTheme(s, LIGHT, frames);
  const light = await s.wb.screenshot(`${name} light`);
  await setTheme(s, DARK, frames);
  return [dark, light];
}

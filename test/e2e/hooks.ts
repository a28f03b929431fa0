// Root hooks for the e2e run: one code-server session for all tests, a screenshot after every
// test (passed or failed), and the whole process group ended in afterAll.
import type { Context } from "mocha";
import { startSession, type Session } from "./harness/session";

let current: Session | undefined;

/** The running session; tests call this in their hooks or bodies. */
export function session(): Session {
  if (!current) throw new Error("e2e session not started (the root beforeAll failed?)");
  return current;
}

export const mochaHooks = {
  async beforeAll(this: Context) {
    this.timeout(240000);
    // INTROSPECT_E2E_RUN names the run folder (.e2e/runs/<name>) so two runs on one machine do not collide.
    current = await startSession(process.env.INTROSPECT_E2E_RUN || "e2e");
  },
  async afterEach(this: Context) {
    const t = this.currentTest;
    if (!current || !t) return;
    const file = await current.wb.screenshot(`${t.fullTitle()}${t.state === "failed" ? ".FAILED" : ""}`).catch(() => undefined);
    if (file && t.state === "failed") console.log(`    screenshot: ${file}`);
    // A failed test may leave a palette, input box or file dialog open: close it, so the next test starts clean.
    const quick = current.wb.page.locator(".quick-input-widget");
    if (t.state === "failed" && (await quick.isVisible().catch(() => false))) {
      await current.wb.page.keyboard.press("Escape");
      await quick.waitFor({ state: "hidden", timeout: 10000 }).catch((e: Error) => console.log(`    quick input still open: ${e.message}`));
    }
  },
  async afterAll(this: Context) {
    this.timeout(30000);
    await current?.close();
    current = undefined;
  },
};

// A failure in a panel: the sentence and the buttons that fix it, in place of the result it could
// not produce. The buttons ask the extension to act (src/extension/userErrors.ts runFailureAction).
import type { FailureAction, FromWebview } from "../../src/protocol/webview";
import { button, el } from "./dom";

const TITLES: Record<FailureAction, string> = {
  selectModel: "Select Model",
  openSettings: "Open Settings",
  showLog: "Show Log",
  restartHost: "Restart Model Host",
};

export function failureBox(message: string, actions: FailureAction[] = [], post: (m: FromWebview) => void): HTMLElement {
  const row = el("div", { class: "failure-actions" });
  for (const a of actions) {
    const b = button(TITLES[a], () => post({ type: "introspect/failureAction", action: a }));
    b.dataset.action = a;
    row.append(b);
  }
  return el("div", { class: "failure", attrs: { role: "alert" } }, el("p", { class: "error", text: message }), actions.length ? row : null);
}

/** The one status line at the top of a panel (replaced, never stacked); the result below is marked stale while a run is in flight. */
export function showRunning(root: HTMLElement, message: string): void {
  root.querySelector(":scope > .run-status")?.remove();
  root.querySelector(":scope > .failure")?.remove();
  root.classList.add("stale");
  root.prepend(el("p", { class: "muted run-status", attrs: { role: "status" }, text: message }));
}

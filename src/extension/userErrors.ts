// Failures the user sees: one sentence and the buttons that fix it (Select Model, Open Settings,
// Show Log, Restart Model Host). The sentence comes from the error (panelSupport.messageOf strips
// JSON-RPC's "Request … failed with message:" wrapping); which buttons, from what it is about.
// Panels show the same sentence and buttons in place of their result (FailureAction in protocol/webview.ts).
import * as vscode from "vscode";
import type { FailureAction } from "../protocol/webview";
import { failureActions, FAILURE_ACTION_TITLES } from "./failureActions";
import { messageOf } from "./panels/panelSupport";

export type { FailureAction };

/** An error whose sentence is already written for the user, with the buttons to offer. */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly actions: FailureAction[],
  ) {
    super(message);
  }
}

/** The sentence and buttons for an error (`message` overrides the sentence, e.g. a cancellation's). */
export function describeFailure(e: unknown, message?: string): { message: string; actions: FailureAction[] } {
  const text = message ?? messageOf(e);
  const actions = e instanceof UserFacingError ? e.actions : failureActions(text);
  return { message: text, actions };
}

/** Shows the failure as an error notification with its buttons; a pick runs the action. */
export function showFailure(e: unknown, message?: string): void {
  const f = describeFailure(e, message);
  const titles = f.actions.map((a) => FAILURE_ACTION_TITLES[a]);
  void vscode.window.showErrorMessage(`Introspect: ${f.message}`, ...titles).then((pick) => {
    const action = f.actions.find((a) => FAILURE_ACTION_TITLES[a] === pick);
    if (action) void runFailureAction(action);
  });
}

/** Command folders' model picker registers; until it exists, Select Model opens the setting. */
export const SELECT_MODEL_COMMAND = "introspect.selectModel";
export const SHOW_LOG_COMMAND = "introspect.showLog";

export async function runFailureAction(action: FailureAction): Promise<void> {
  switch (action) {
    case "selectModel": {
      const known = await vscode.commands.getCommands(true);
      if (known.includes(SELECT_MODEL_COMMAND)) await vscode.commands.executeCommand(SELECT_MODEL_COMMAND);
      else await vscode.commands.executeCommand("workbench.action.openSettings", "introspect.model");
      return;
    }
    case "openSettings":
      await vscode.commands.executeCommand("workbench.action.openSettings", "@ext:introspect.introspect");
      return;
    case "showLog":
      await vscode.commands.executeCommand(SHOW_LOG_COMMAND);
      return;
    case "restartHost":
      await vscode.commands.executeCommand("introspect.restartHost");
      return;
  }
}

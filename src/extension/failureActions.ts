// Which buttons a failure sentence gets. Pure (no vscode) so every sentence class is unit-tested.
import type { FailureAction } from "../protocol/webview";

export const FAILURE_ACTION_TITLES: Record<FailureAction, string> = {
  selectModel: "Select Model",
  openSettings: "Open Settings",
  showLog: "Show Log",
  restartHost: "Restart Model Host",
};

const ABOUT_THE_MODEL =
  /introspect\.(model|variant)|model could not be loaded|No model is loaded|Model not found|not an \.onnx file|names model|tokenizer|could not be loaded|still loading/i;
const ABOUT_THE_HOST = /model host (is not running|stopped)|Restart Model Host/i;
const ABOUT_A_SETTING = /introspect\.(probe|patch|steer|promptFile|inlayHints)\.\w+/;

/** Buttons for a sentence: the model's problems offer the picker and settings, the host's a restart; all offer the log. */
export function failureActions(message: string): FailureAction[] {
  if (/cancelled\.?$/i.test(message)) return [];
  if (ABOUT_THE_HOST.test(message)) return ["restartHost", "showLog"];
  if (ABOUT_THE_MODEL.test(message)) return ["selectModel", "openSettings", "showLog"];
  if (ABOUT_A_SETTING.test(message)) return ["openSettings", "showLog"];
  return ["showLog"];
}

/** JSON-RPC wraps a handler's thrown message ("Request introspect/probe failed with message: …"): the user gets the message alone. */
export function unwrapRpcMessage(text: string): string {
  return text
    .replace(/^Request [\w/$.-]+ failed with message: /, "")
    .replace(
      /^Request [\w/$.-]+ failed unexpectedly without providing any details\.?$/,
      "The model host failed without saying why: see its log.",
    );
}

// Which model the host loads, given the settings and whether the workspace is trusted. Pure (no
// vscode import) so every case is unit-tested; settings.ts feeds it from the real configuration.
//
// Workspace trust: a repository's .vscode/settings.json can name a model, and a crafted model is
// untrusted input to onnxruntime's native parser. So in an untrusted workspace only the user's own
// settings count (package.json lists introspect.model and introspect.variant under
// capabilities.untrustedWorkspaces.restrictedConfigurations), and not even a relative path from
// them, since it points into the workspace. Otherwise the bundled demo model is loaded. Granting
// trust makes the extension configure the host again (hostClient.ts).
import * as path from "path";
import { resolveModelName } from "./modelName";

/** What `WorkspaceConfiguration.inspect()` reports for one setting (the parts used here). */
export interface SettingValues<T> {
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

export interface ModelChoiceInput {
  trusted: boolean;
  model?: SettingValues<string>;
  variant?: SettingValues<string>;
  /** The first workspace folder, which relative paths resolve against. */
  workspaceFolder?: string;
  /** Absolute path of the bundled demo model. */
  demoModel: string;
  /** Resolves a path relative to the extension (for relative paths without a workspace). */
  extensionPath: (rel: string) => string;
  home?: string;
  /**
   * Model settings the workspace's settings files name (untrusted only). VS Code leaves restricted
   * settings out of the configuration of an untrusted workspace, so `inspect()` cannot report them;
   * settings.ts looks for their names in .vscode/settings.json to say why they are not used.
   */
  workspaceMentions?: string[];
  /** When given, a relative value is also looked up as a bundled model's name (`demo-moe`) and under the workspace's models/ folder. */
  exists?: (p: string) => boolean;
}

export interface ModelChoice {
  modelPath: string;
  variant: string;
  /** When a setting was left unused because the workspace is not trusted: a sentence for the user. */
  ignored?: string;
}

function effective(v: SettingValues<string> | undefined): string {
  return (v?.workspaceFolderValue ?? v?.workspaceValue ?? v?.globalValue ?? "").trim();
}

function fromWorkspace(v: SettingValues<string> | undefined): string | undefined {
  const w = v?.workspaceFolderValue ?? v?.workspaceValue;
  return w !== undefined && w.trim() !== "" ? w.trim() : undefined;
}

/** Empty: the demo model; relative: against the first workspace folder; `~` expands to home. */
export function resolveConfigured(
  configured: string,
  input: Pick<ModelChoiceInput, "demoModel" | "workspaceFolder" | "extensionPath" | "home" | "exists">,
  trusted = true,
): string {
  if (!configured) return input.demoModel;
  if (input.exists) {
    const found = resolveModelName(configured, {
      workspaceFolder: input.workspaceFolder,
      bundledModels: input.extensionPath("models"),
      home: input.home,
      trusted,
      exists: input.exists,
    });
    if (found) return found;
  }
  if (configured.startsWith("~")) configured = path.join(input.home ?? "", configured.slice(1));
  if (path.isAbsolute(configured)) return configured;
  return input.workspaceFolder ? path.join(input.workspaceFolder, configured) : input.extensionPath(configured);
}

export function chooseModel(input: ModelChoiceInput): ModelChoice {
  if (input.trusted) {
    return { modelPath: resolveConfigured(effective(input.model), input), variant: effective(input.variant) };
  }
  const userModel = (input.model?.globalValue ?? "").trim();
  const userVariant = (input.variant?.globalValue ?? "").trim();
  const wsModel = fromWorkspace(input.model);
  const wsVariant = fromWorkspace(input.variant);
  // A bundled model's name (`demo-moe`) points into the extension, not the workspace.
  const bundled = /^[^\\/~.][^\\/]*$/.test(userModel) && !!input.exists?.(path.join(input.extensionPath("models"), userModel));
  const relative =
    !bundled && userModel !== "" && !userModel.startsWith("~") && !path.isAbsolute(userModel) && input.workspaceFolder !== undefined;
  const modelPath = relative ? input.demoModel : resolveConfigured(userModel, input, false);
  const variant = relative ? "" : userVariant;
  let ignored: string | undefined;
  const loads = modelPath === input.demoModel ? "the bundled demo model" : "the model from your user settings";
  const mentioned = input.workspaceMentions?.[0];
  if (wsModel !== undefined || wsVariant !== undefined) {
    const what = wsModel !== undefined ? `introspect.model (${wsModel})` : `introspect.variant (${wsVariant})`;
    ignored = `This workspace is not trusted, so its setting ${what} is not used: Introspect loads ${loads} instead. Trust the workspace to use it.`;
  } else if (mentioned) {
    ignored = `This workspace is not trusted, so its setting ${mentioned} is not used: Introspect loads ${loads} instead. Trust the workspace to use it.`;
  } else if (relative) {
    ignored = `This workspace is not trusted, so introspect.model (${userModel}), a path inside it, is not used: Introspect loads the bundled demo model instead. Trust the workspace to use it.`;
  }
  return { modelPath, variant, ...(ignored ? { ignored } : {}) };
}

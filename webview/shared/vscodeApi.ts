// The webview's handle on VS Code: acquireVsCodeApi() may be called once per page.
export interface VsCodeApi<S = unknown> {
  postMessage(msg: unknown): void;
  getState(): S | undefined;
  setState(state: S): void;
}

declare function acquireVsCodeApi<S>(): VsCodeApi<S>;

let api: VsCodeApi | undefined;

export function vscodeApi<S>(): VsCodeApi<S> {
  api ??= acquireVsCodeApi<S>();
  return api as VsCodeApi<S>;
}

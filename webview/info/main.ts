// Browser code of the model-info panel. Everything from the host or the editor is set as
// text (token strings and selections can contain markup).
import type { ModelInfoResult } from "../../src/protocol/lsp";
import { RequestClient, type FromWebview, type SelectionEcho, type ToWebview } from "../../src/protocol/webview";

declare function acquireVsCodeApi(): { postMessage(msg: FromWebview): void; getState(): unknown; setState(s: unknown): void };

const vscode = acquireVsCodeApi();
const requests = new RequestClient((m) => vscode.postMessage(m));
const root = document.getElementById("root")!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function ioTable(caption: string, rows: ModelInfoResult["inputs"], id: string): HTMLElement {
  const table = el("table", undefined, { id });
  table.append(el("caption", caption));
  const head = el("tr");
  head.append(el("th", "name"), el("th", "type"), el("th", "dims"));
  table.append(head);
  for (const r of rows) {
    const tr = el("tr");
    tr.append(el("td", r.name, { class: "mono io-name" }), el("td", r.type), el("td", r.dims.join(" × ")));
    table.append(tr);
  }
  return table;
}

function render(info: ModelInfoResult, selection?: SelectionEcho): void {
  const parts: HTMLElement[] = [el("h2", "Model host")];
  const facts = el("dl");
  const fact = (k: string, v: string, id: string) => facts.append(el("dt", k), el("dd", v, { id }));
  fact("onnxruntime", info.ortVersion, "ort-version");
  fact("model", info.modelPath || "(none)", "model-path");
  if (info.onnxFile) fact("file", info.onnxFile, "onnx-file");
  fact("state", info.state.kind === "failed" ? `failed: ${info.state.reason}` : info.state.kind, "model-state");
  fact("host pid", String(info.hostPid), "host-pid");
  parts.push(facts);
  if (info.inputs.length || info.outputs.length) {
    parts.push(ioTable("Inputs", info.inputs, "inputs"), ioTable("Outputs", info.outputs, "outputs"));
  } else {
    parts.push(el("p", "No model is loaded, so there are no inputs or outputs to show.", { class: "muted" }));
  }
  if (selection) {
    parts.push(el("h2", "Selection"), el("pre", selection.text, { id: "selection", class: "mono" }));
    parts.push(el("p", `${selection.uri} [${selection.start}, ${selection.end})`, { class: "muted" }));
  }
  root.replaceChildren(...parts);
  vscode.setState({ info, selection });
}

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  if (requests.handleResponse(msg)) return;
  if (msg.type === "introspect/showModelInfo") render(msg.info, msg.selection);
});

// Restore what was shown before the panel was hidden, then refresh from the host.
const saved = vscode.getState() as { info: ModelInfoResult; selection?: SelectionEcho } | undefined;
if (saved?.info) render(saved.info, saved.selection);
vscode.postMessage({ type: "introspect/ready" });
if (saved?.info) {
  requests.request("introspect/modelInfo", {}).then(
    (info) => render(info, saved.selection),
    (e: Error) => root.append(el("p", e.message, { class: "error" })),
  );
}

// Browser code of the model-info panel. Everything from the host or the editor is set as
// text (token strings and selections can contain markup).
import type { ModelInfoResult } from "../../src/protocol/lsp";
import { RequestClient, type FromWebview, type SelectionEcho, type ToWebview } from "../../src/protocol/webview";
import { siteMap, siteTable } from "./siteTable";

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

/** The architecture map's summary and each self-check with its verdict. */
function mapSection(m: NonNullable<ModelInfoResult["info"]>): HTMLElement[] {
  const facts = el("dl", undefined, { id: "map-facts" });
  const fact = (k: string, v: string, id?: string) => facts.append(el("dt", k), el("dd", v, id ? { id } : {}));
  fact("name", m.id, "model-name");
  fact("architecture", m.architecture);
  fact("export style", m.exportStyle);
  const ep = m.executionProvider;
  if (ep) fact("execution provider", ep.fallback ? `${ep.used} (${ep.requested} requested: ${ep.fallback})` : ep.used);
  fact("layers", String(m.numLayers), "map-layers");
  fact("residual width", String(m.dModel), "map-width");
  if (m.dMlp) fact("MLP width", String(m.dMlp));
  fact("attention heads", m.numHeads ? String(m.numHeads) : "not found in the graph", "map-heads");
  fact("vocabulary", String(m.vocabSize));
  fact(
    "experts",
    m.numExperts ? `${m.numExperts}${m.expertsPerToken ? `, top-${m.expertsPerToken} per token` : ""}` : "none (dense MLP)",
    "map-experts",
  );
  fact("KV cache", m.hasKvCache ? "yes (incremental generation)" : "no");
  const table = el("table", undefined, { id: "map-checks" });
  table.append(el("caption", "Self-check: what the graph gives against every other account of the model"));
  const head = el("tr");
  head.append(el("th", "check"), el("th", "graph"), el("th", "other"), el("th", "source"), el("th", "verdict"));
  table.append(head);
  for (const c of m.checks ?? []) {
    const tr = el("tr");
    tr.append(
      el("td", c.what),
      el("td", String(c.graph)),
      el("td", String(c.other)),
      el("td", c.source),
      el("td", c.verdict, { class: c.verdict === "agree" ? "ok" : "error" }),
    );
    table.append(tr);
  }
  const n = m.checks?.length ?? 0;
  const failed = (m.checks ?? []).filter((c) => c.verdict !== "agree").length;
  const verdict = failed
    ? el("p", `${failed} of ${n} checks disagree${m.unconfirmed ? `: ${m.unconfirmed}` : "."}`, { id: "map-verdict", class: "error" })
    : el("p", `Map confirmed by ${n} checks.`, { id: "map-verdict" });
  const notes = m.notes.map((t) => el("p", t, { class: "muted" }));
  return [
    el("h2", "Architecture map"),
    facts,
    el("h3", "Layers and sites"),
    ...siteTable(siteMap(m.sites ?? [], m.numLayers)),
    table,
    verdict,
    ...notes,
  ];
}

/** One line: a quantised variant's fidelity against the folder's fp32 model (filled in when the host answers). */
function fidelityLine(): HTMLElement {
  const p = el("p", "Fidelity against fp32: computing…", { id: "fidelity", class: "muted" });
  requests.request("introspect/fidelity", {}).then(
    (f) => {
      p.textContent = f.summary ? `Fidelity: ${f.summary}` : `Fidelity: ${f.unavailable ?? "not available"}`;
      if (f.summary) p.className = "";
    },
    (e: Error) => ((p.textContent = `Fidelity: ${e.message}`), (p.className = "error")),
  );
  return p;
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
  if (info.state.kind === "failed") parts.push(el("p", info.state.reason, { id: "model-error", class: "error" }));
  const map = info.info ?? (info.state.kind === "ready" ? info.state.info : undefined);
  if (map) parts.push(...mapSection(map), fidelityLine());
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

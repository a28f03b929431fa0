// Patching panel entry (bundled to dist/webview/patch.js). Shows one run: its inputs, baselines,
// one heatmap per site filling in as cells finish, the top tokens of a clicked cell, exports,
// cancel and rerun. The extension re-sends the run after a reload; getState keeps UI choices.
// Tests read: #root data-status / data-done / data-total / data-rows / data-cols, and each
// [data-site] section's data-finished.
import {
  PATCH_METRICS,
  gridFromWebview,
  runFromWebview,
  shortSite,
  type PatchCellResult,
  type PatchMetricName,
  type PatchRun,
  type PatchSiteKind,
  type PatchStatus,
} from "../../src/protocol/patchData";
import { RequestClient, type FromWebview, type ToWebview } from "../../src/protocol/webview";
import { onThemeChange } from "../shared/colors";
import { button, el, fmt, select } from "../shared/dom";
import { hideTooltip } from "../shared/tooltip";
import { tokenStrip } from "../shared/tokens";
import { vscodeApi } from "../shared/vscodeApi";
import { exportCsv, exportJson, exportPng } from "./exporting";
import { gridViews, formatValue } from "./grids";
import { HeadsSection } from "./heads";
import { optionsForm } from "./options";
import { ScaleLock } from "./scaleLock";

interface UiState {
  metric?: PatchMetricName;
}

const api = vscodeApi<UiState>();
const post = (msg: FromWebview): void => api.postMessage(msg);
const client = new RequestClient((m) => post(m));
const ui: UiState = { ...(api.getState() ?? {}) };
const root = document.getElementById("root") ?? document.body.appendChild(el("main", { attrs: { id: "root" } }));
root.removeAttribute("aria-live");
root.dataset.status = "empty";
root.replaceChildren(
  el("p", {
    class: "muted",
    text: "Run “Introspect: Run Activation Patching” from the command palette, or the “Run patching” lens of a patch block.",
  }),
);

let run: PatchRun | undefined;
const scaleLock = new ScaleLock();
const heads = new HeadsSection(client);
let selected: { site: PatchSiteKind; li: number; pi: number } | undefined;
const gridsHost = el("div", { class: "grid-host" });
const statusLine = el("span", { class: "status", attrs: { id: "patch-status", role: "status" } });
const bar = el("progress", { attrs: { id: "patch-progress", max: "1", value: "0" } });
const cancelBtn = button(
  "Cancel",
  () => run && post({ type: "introspect/patchCancel", runId: run.header.runId }),
  "Stop the sweep after the batch in flight",
);
cancelBtn.id = "patch-cancel";
const detail = el("section", { class: "cell-detail", attrs: { id: "cell-detail", "aria-live": "polite" } });
const metricOf = (): PatchMetricName => ui.metric ?? run?.header.experiment.metric ?? "normalised";

function setStatus(status: PatchStatus | { kind: "preparing"; message: string }): void {
  root.dataset.status = status.kind;
  cancelBtn.hidden = status.kind !== "running" && status.kind !== "preparing";
  const done = run?.done ?? 0;
  const total = run?.header.total ?? 0;
  bar.max = Math.max(1, total);
  bar.value = done;
  bar.hidden = status.kind === "done" || status.kind === "failed" || !run;
  statusLine.className = status.kind === "failed" ? "status error" : "status";
  statusLine.textContent =
    status.kind === "preparing"
      ? status.message
      : status.kind === "running"
        ? `Running: ${done} / ${total} cells`
        : status.kind === "done"
          ? `Done: ${total} cells (${status.cellsRun} patched runs, ${status.cellsSkipped} skipped as unchanged) in ${status.forwardPasses} forward passes, ${(status.ms / 1000).toFixed(1)} s`
          : status.kind === "cancelled"
            ? `Cancelled after ${done} of ${total} cells`
            : status.message;
}

onThemeChange(() => renderGrids());

function renderGrids(): void {
  if (!run) return;
  hideTooltip();
  const m = metricOf();
  gridsHost.replaceChildren(
    gridViews({
      run,
      metric: m,
      selected,
      onSelect: (site, li, pi) => void showCell(site, li, pi),
      span: scaleLock.span(run, m),
      legendExtra: scaleLock.control(run, m, renderGrids),
    }),
  );
  root.dataset.done = String(run.done);
}

function render(): void {
  if (!run) return;
  const h = run.header;
  const e = h.experiment;
  root.dataset.total = String(h.total);
  root.dataset.rows = String(h.layers.length);
  root.dataset.cols = String(h.positions.length);
  root.dataset.runId = String(h.runId);
  const differs = (i: number) => h.cleanTokens[i]?.id !== h.corruptTokens[i - h.cleanTokens.length + h.corruptTokens.length]?.id;
  const strip = (label: string, toks: typeof h.cleanTokens, mark: (i: number) => boolean) => {
    const s = tokenStrip(
      toks.map((t) => ({ ...t, piece: "" })),
      { label },
    );
    s.querySelectorAll<HTMLElement>(".token").forEach((c, i) => mark(i) && c.classList.add("diff"));
    return s;
  };
  const b = h.baselines;
  const baselines = el(
    "table",
    { class: "data-table baselines", attrs: { id: "baselines" } },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ...["Run", "logit(correct) − logit(wrong)", "p(correct)", "Normalised"].map((t) => el("th", { text: t, attrs: { scope: "col" } })),
      ),
    ),
    el(
      "tbody",
      {},
      el(
        "tr",
        { data: { baseline: "clean" } },
        el("th", { text: "clean", attrs: { scope: "row" } }),
        el("td", { text: fmt(b.clean.logitDiff, 4) }),
        el("td", { text: formatValue("pCorrect", b.clean.pCorrect) }),
        el("td", { text: "1" }),
      ),
      el(
        "tr",
        { data: { baseline: "corrupt" } },
        el("th", { text: "corrupted", attrs: { scope: "row" } }),
        el("td", { text: fmt(b.corrupt.logitDiff, 4) }),
        el("td", { text: formatValue("pCorrect", b.corrupt.pCorrect) }),
        el("td", { text: "0" }),
      ),
    ),
  );
  const answer = (a: typeof h.correct, run: string) =>
    el(
      "span",
      { class: "answer" },
      el("code", { text: JSON.stringify(a.text) }),
      el("span", {
        class: "muted",
        text: a.given ? ` (id ${a.id})` : ` (${run} top-1, id ${a.id}${a.p !== undefined ? `, p = ${fmt(a.p, 3)}` : ""})`,
      }),
    );
  const metric = select(
    "Metric",
    PATCH_METRICS.map((m) => ({ value: m.name, label: m.label })),
    metricOf(),
    (v) => {
      ui.metric = v as PatchMetricName;
      api.setState(ui);
      renderGrids();
    },
  );
  metric.select.dataset.control = "metric";
  const toolbar = el(
    "div",
    { class: "toolbar" },
    metric.root,
    button("JSON", () => run && exportJson(client, run), "Save inputs, tokens, baselines and every grid as JSON"),
    button("CSV", () => run && exportCsv(client, run), "Save every cell (site, layer, position, all three metrics) as CSV"),
    button("PNG", () => void exportPng(client, gridsHost, run), "Save the heatmaps as one PNG"),
    el("span", { class: "muted", attrs: { id: "export-status", role: "status" } }),
  );
  root.replaceChildren(
    el("header", { class: "patch-header" }, el("h1", { text: `Activation patching · ${h.modelId}` }), statusLine, bar, cancelBtn),
    el(
      "section",
      { class: "inputs", attrs: { "aria-label": "Experiment" } },
      el(
        "div",
        { class: "prompt-row" },
        el("span", { class: "prompt-label", text: "clean" }),
        strip("Clean prompt tokens", h.cleanTokens, (i) => differs(i)),
      ),
      el(
        "div",
        { class: "prompt-row" },
        el("span", { class: "prompt-label", text: "corrupted" }),
        strip("Corrupted prompt tokens", h.corruptTokens, (i) => differs(i + h.cleanTokens.length - h.corruptTokens.length)),
      ),
      el(
        "p",
        {},
        "correct ",
        answer(h.correct, "clean"),
        " · wrong ",
        answer(h.wrong, "corrupted"),
        el("span", { class: "muted", text: e.source ? ` · from ${e.source}` : "" }),
      ),
      h.note ? el("p", { class: "note", attrs: { id: "patch-note" }, text: h.note }) : null,
      baselines,
    ),
    toolbar,
    gridsHost,
    detail,
    heads.render(run),
    optionsForm(run, (exp) => post({ type: "introspect/patchRerun", experiment: exp })),
  );
  renderGrids();
  setStatus(run.status);
}

async function showCell(site: PatchSiteKind, li: number, pi: number): Promise<void> {
  if (!run) return;
  selected = { site, li, pi };
  const h = run.header;
  const layer = h.layers[li];
  const position = h.positions[pi];
  detail.dataset.state = "loading";
  detail.replaceChildren(
    el("h2", { text: `Top tokens after patching ${shortSite(site)} at L${layer}, position ${position}` }),
    el("p", { class: "muted", text: "Running the patched prompt…" }),
  );
  let r: PatchCellResult;
  try {
    r = await client.request("introspect/patchCell", { site, layer, position });
  } catch (e) {
    detail.dataset.state = "failed";
    detail.replaceChildren(el("p", { class: "error", text: e instanceof Error ? e.message : String(e) }));
    return;
  }
  if (selected?.site !== site || selected.li !== li || selected.pi !== pi) return;
  const table = el(
    "table",
    { class: "data-table top-tokens" },
    el("thead", {}, el("tr", {}, ...["#", "Token", "p", "logit"].map((t) => el("th", { text: t, attrs: { scope: "col" } })))),
  );
  const body = el("tbody");
  r.top.forEach((t, i) => {
    const mark = t.id === h.correct.id ? "correct" : t.id === h.wrong.id ? "wrong" : "";
    body.append(
      el(
        "tr",
        { class: mark, data: { tokenId: t.id } },
        el("td", { text: String(i + 1) }),
        el("td", {}, el("code", { text: JSON.stringify(t.text) }), mark ? el("span", { class: "tag", text: mark }) : null),
        el("td", { text: formatValue("pCorrect", t.p) }),
        el("td", { text: fmt(t.logit, 4) }),
      ),
    );
  });
  table.append(body);
  const span = h.baselines.clean.logitDiff - h.baselines.corrupt.logitDiff;
  detail.dataset.state = "ready";
  detail.dataset.cell = `${site},${layer},${position}`;
  detail.replaceChildren(
    el("h2", { text: `Top tokens after patching ${shortSite(site)} at L${layer}, position ${position}` }),
    el("p", {
      class: "muted",
      text: `logit difference ${fmt(r.logitDiff, 4)} · normalised ${fmt((r.logitDiff - h.baselines.corrupt.logitDiff) / span, 4)} · p(correct) ${formatValue("pCorrect", r.pCorrect)}`,
    }),
    table,
  );
}

let pending = false;
function scheduleGrids(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderGrids();
    if (run) setStatus(run.status);
  });
}

window.addEventListener("message", (ev: MessageEvent<ToWebview>) => {
  const msg = ev.data;
  if (client.handleResponse(msg)) return;
  switch (msg?.type) {
    case "introspect/patchRun":
      run = runFromWebview(msg.run);
      if (!selected || !run.header.runSites.includes(selected.site)) selected = undefined;
      if (run.status.kind === "running") detail.replaceChildren();
      render();
      break;
    case "introspect/patchProgress":
      if (!run || run.header.runId !== msg.runId) return;
      for (const [k, g] of Object.entries(msg.grids)) run.grids[k as PatchSiteKind] = gridFromWebview(g!);
      run.done = msg.done;
      // Counted at once (tests and assistive tech follow it); drawing waits for the next frame.
      root.dataset.done = String(msg.done);
      scheduleGrids();
      break;
    case "introspect/patchStatus":
      if (msg.status.kind === "preparing") {
        if (!run)
          root.replaceChildren(el("header", { class: "patch-header" }, el("h1", { text: "Activation patching" }), statusLine, cancelBtn));
        setStatus(msg.status);
      } else if (run && run.header.runId === msg.runId) {
        run.status = msg.status;
        setStatus(msg.status);
      } else if (msg.status.kind === "failed") {
        root.dataset.status = "failed";
        root.prepend(el("p", { class: "error", attrs: { role: "alert" }, text: msg.status.message }));
      }
      break;
  }
});

post({ type: "introspect/ready" });

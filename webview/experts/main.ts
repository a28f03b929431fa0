// Expert ranking panel entry (bundled to dist/webview/experts.js): a layer x expert heatmap of the
// routing-share difference (+ prompts minus - prompts) with its legend, the ranked list with z and
// p, CSV export, and "Switch off top n", which shows the chosen metric without and with those
// experts off over the + prompts and over the - prompts (the control set).
// Tests read: #root data-status, [data-heatmap="expert-rank"] data-rows / data-cols,
// #rank-list rows (data-layer, data-expert), #effect data-positive-change / data-control-change.
import type { ExpertEffectResult, ExpertRankResult, RankMetric } from "../../src/protocol/expertRanking";
import { describeIntervention, type ExpertIntervention } from "../../src/protocol/experts";
import { RequestClient, type FromWebview, type ToWebview } from "../../src/protocol/webview";
import { legend, scaleFor } from "../shared/colors";
import { button, el, fmt, select } from "../shared/dom";
import { toCsv } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";
import { vscodeApi } from "../shared/vscodeApi";

interface UiState {
  n: number;
  metric: RankMetric;
}

const api = vscodeApi<UiState>();
const post = (msg: FromWebview): void => api.postMessage(msg);
const client = new RequestClient((m) => post(m));
const ui: UiState = { n: 1, metric: "logprob", ...(api.getState() ?? {}) };
const root = document.getElementById("root") ?? document.body.appendChild(el("main", { attrs: { id: "root" } }));
root.removeAttribute("aria-live");
root.dataset.status = "empty";
const statusLine = el("p", { class: "status", attrs: { id: "rank-status", role: "status" } });
root.replaceChildren(statusLine);
statusLine.textContent = "Use the “Rank experts” lens above a contrast block of a .introspect file.";

const pct = (v: number) => `${fmt(v * 100, 3)} %`;
const pText = (p: number) => (p < 1e-4 ? p.toExponential(1) : fmt(p, 3));
const METRICS: { value: RankMetric; label: string; unit: string }[] = [
  { value: "logprob", label: "mean log-probability of each prompt's own tokens", unit: "nats" },
  { value: "kl", label: "KL from the unmodified model (every position)", unit: "nats" },
];

function render(r: ExpertRankResult): void {
  root.dataset.status = "done";
  statusLine.className = "status";
  statusLine.textContent = "";
  const E = r.experts;
  const heat = r.heat instanceof Float32Array ? r.heat : Float32Array.from(r.heat as ArrayLike<number>);
  const scale = scaleFor(heat, "rdbu");
  const byCell = new Map(r.ranked.map((s, i) => [`${s.layer}:${s.expert}`, { s, rank: i + 1 }]));
  const at = (li: number, e: number) => byCell.get(`${r.layers[li]}:${e}`)!;
  const heatmap = new Heatmap({
    name: "expert-rank",
    label: "Routing share difference per layer and expert (+ prompts minus - prompts)",
    rows: r.layers.length,
    cols: E,
    pixels: pixelsFromValues(heat, scale),
    rowLabel: (li) => `L${r.layers[li]}`,
    colLabel: (e) => `E${e}`,
    describe: (li, e) => {
      const { s, rank } = at(li, e);
      return `layer ${s.layer}, expert ${s.expert}: ${pct(s.positive)} of + tokens vs ${pct(s.baseline)} of - tokens, difference ${fmt(s.diff * 100, 3)} points, z ${fmt(s.z, 3)}, p ${pText(s.p)}, rank ${rank}`;
    },
    tooltip: (li, e) => {
      const { s, rank } = at(li, e);
      return [
        el("div", { class: "tip-title", text: `L${s.layer}:E${s.expert} · rank ${rank}` }),
        el("div", { text: `+ ${pct(s.positive)} · − ${pct(s.baseline)}` }),
        el("div", { text: `difference ${fmt(s.diff * 100, 3)} points · z ${fmt(s.z, 3)} · p ${pText(s.p)}` }),
      ];
    },
    maxCellW: 40,
  });
  const head = el(
    "header",
    {},
    el("h1", { text: `Experts · ${r.model}` }),
    el("p", {
      class: "muted",
      text: `Contrast “${r.block}”: ${r.prompts.positive} + prompts (${r.tokens.positive} tokens) vs ${r.prompts.baseline} − prompts (${r.tokens.baseline} tokens); a token counts for ${r.count === "top1" ? "its first-choice expert" : "every expert among its top k"}.`,
    }),
  );
  const list = el("table", { attrs: { id: "rank-list" } });
  list.append(el("tr", {}, ...["rank", "layer", "expert", "+ share", "− share", "difference", "z", "p"].map((h) => el("th", { text: h }))));
  const shown = r.ranked.slice(0, Math.min(r.ranked.length, 20));
  shown.forEach((s, i) =>
    list.append(
      el(
        "tr",
        { data: { layer: s.layer, expert: s.expert } },
        ...[
          String(i + 1),
          `L${s.layer}`,
          `E${s.expert}`,
          pct(s.positive),
          pct(s.baseline),
          fmt(s.diff * 100, 3),
          fmt(s.z, 3),
          pText(s.p),
        ].map((t) => el("td", { text: t })),
      ),
    ),
  );
  const exportStatus = el("span", { class: "muted", attrs: { id: "export-status", role: "status" } });
  const csv = button(
    "CSV",
    () => {
      const text = toCsv(
        ["rank", "layer", "expert", "positive_share", "baseline_share", "diff", "z", "p"],
        r.ranked.map((s, i) => [i + 1, s.layer, s.expert, s.positive, s.baseline, s.diff, s.z, s.p]),
      );
      client.request("introspect/export", { format: "csv", suggestedName: `experts-${r.block}.csv`, data: text }).then(
        (x) => (exportStatus.textContent = x.path ? `Saved ${x.path}` : "Export cancelled."),
        (e: Error) => (exportStatus.textContent = `Export failed: ${e.message}`),
      );
    },
    "Save the whole ranking as CSV",
  );
  csv.id = "rank-csv";

  // Switch off the top n: the metric over the + prompts and over the - prompts, before and after.
  const nInput = el("input", { attrs: { id: "rank-n", type: "number", min: "1", max: String(r.ranked.length), value: String(ui.n) } });
  const metricSel = select(
    "Metric",
    METRICS.map((m) => ({ value: m.value, label: m.label })),
    ui.metric,
    (v) => {
      ui.metric = v as RankMetric;
      api.setState(ui);
    },
  );
  metricSel.select.id = "rank-metric";
  const effect = el("div", { attrs: { id: "effect", "aria-live": "polite" } });
  const offBtn = button(
    "Switch off top n",
    () => {
      const n = Math.max(1, Math.min(r.ranked.length, Math.floor(Number(nInput.value) || 1)));
      ui.n = n;
      api.setState(ui);
      const experts: ExpertIntervention[] = r.ranked.slice(0, n).map((s) => ({ kind: "off", layer: s.layer, expert: s.expert }));
      effect.dataset.status = "running";
      effect.replaceChildren(el("p", { class: "muted", text: `Switching off ${experts.map(describeIntervention).join(", ")}…` }));
      client.request("introspect/expertEffect", { experts, metric: ui.metric }).then(
        (x) => showEffect(effect, experts, x),
        (e: Error) => {
          effect.dataset.status = "failed";
          effect.replaceChildren(el("p", { class: "status error", text: e.message }));
        },
      );
    },
    "Switch the n highest-ranked experts off and measure the metric on both prompt sets",
  );
  offBtn.id = "rank-switch-off";
  const controls = el("div", { class: "controls" }, el("label", {}, "n ", nInput), metricSel.root, offBtn);
  root.replaceChildren(
    head,
    statusLine,
    el(
      "section",
      {},
      el("h2", { text: "Layer × expert" }),
      legend(scale, "+ share − − share", (v) => `${fmt(v * 100, 3)} pts`),
      heatmap.root,
    ),
    el(
      "section",
      {},
      el("h2", { text: `Ranking (top ${shown.length} of ${r.ranked.length})` }),
      el("div", {}, csv, " ", exportStatus),
      list,
    ),
    el("section", {}, el("h2", { text: "Switch experts off" }), controls, effect),
  );
}

function showEffect(box: HTMLElement, experts: ExpertIntervention[], x: ExpertEffectResult): void {
  const unit = METRICS.find((m) => m.value === x.metric)!;
  box.dataset.status = "done";
  box.dataset.positiveChange = String(x.positive.change);
  box.dataset.controlChange = String(x.control.change);
  const row = (name: string, id: string, m: ExpertEffectResult["positive"]) =>
    el(
      "tr",
      { attrs: { id } },
      el("th", { text: name }),
      el("td", { text: fmt(m.before, 4) }),
      el("td", { text: fmt(m.after, 4) }),
      el("td", { text: `${m.change >= 0 ? "+" : ""}${fmt(m.change, 4)}` }),
    );
  box.replaceChildren(
    el("p", { text: `${experts.map(describeIntervention).join(", ")} · ${unit.label} (${unit.unit})` }),
    el(
      "table",
      {},
      el(
        "tr",
        {},
        el("th", { text: "" }),
        el("th", { text: "unmodified" }),
        el("th", { text: "experts off" }),
        el("th", { text: "change" }),
      ),
      row("+ prompts", "effect-positive", x.positive),
      row("− prompts (control)", "effect-control", x.control),
    ),
  );
}

window.addEventListener("message", (ev: MessageEvent<ToWebview>) => {
  const msg = ev.data;
  if (client.handleResponse(msg)) return;
  if (msg.type === "introspect/expertRank") render(msg.result);
  else if (msg.type === "introspect/expertRankStatus") {
    root.dataset.status = msg.status.kind;
    statusLine.className = msg.status.kind === "failed" ? "status error" : "status";
    statusLine.textContent = msg.status.message;
    if (!statusLine.isConnected) root.prepend(statusLine);
  }
});
post({ type: "introspect/ready" });

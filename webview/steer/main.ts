// Steering side view (bundled to dist/webview/steer.js): vector rows with sliders, the prompt,
// sampling, the unsteered and steered continuations streaming side by side (tokens from the
// first difference marked), the KL/entropy plot, and a sweep grid. Token text is set as text only.
import type { SteerGenStatus, SteerPanelState, SteerSamplingUi, SteerStep, SteerSweepResult } from "../../src/protocol/steerData";
import type { FromWebview, ToWebview } from "../../src/protocol/webview";
import { button, el, fmt } from "../shared/dom";
import { vscodeApi } from "../shared/vscodeApi";
import { diffLegend } from "./diffLegend";
import { readoutPlot } from "./plot";
import { rowsView } from "./rows";
import { expertRowsView } from "./experts";
import { sweepView } from "./sweep";

const api = vscodeApi<{ prompt?: string }>();
const post = (msg: FromWebview): void => api.postMessage(msg);
const root = document.getElementById("root") ?? document.body.appendChild(el("main", { attrs: { id: "root" } }));
root.removeAttribute("aria-live");

let state: SteerPanelState | undefined;
let genId = 0;
let steps: SteerStep[] = [];
let shownPrompt = "";

const rows = rowsView(sendInput, (action) => post({ type: "introspect/steerAction", action }));
const expertRows = expertRowsView(sendInput, (action) => post({ type: "introspect/steerAction", action }));
const status = el("p", { class: "muted gen-status", attrs: { id: "gen-status", role: "status" } });
const modelLine = el("span", { class: "muted", attrs: { id: "model" } });

const prompt = el("textarea", { attrs: { id: "prompt", rows: "3", "aria-label": "Prompt", placeholder: "Prompt to continue" } });
const promptSource = el("span", { class: "muted", attrs: { id: "prompt-source" } });
let typing: ReturnType<typeof setTimeout> | undefined;
prompt.addEventListener("input", () => {
  // A prompt the user changed is theirs from now on (the extension records the same).
  if (prompt.value !== state?.prompt) promptSource.textContent = "from typed";
  clearTimeout(typing);
  typing = setTimeout(sendInput, 300);
});

const mode = el(
  "select",
  { attrs: { id: "sampling", "aria-label": "Decoding" } },
  el("option", { text: "greedy", attrs: { value: "greedy" } }),
  el("option", { text: "sample (fixed seed)", attrs: { value: "sample" } }),
);
const seed = el("input", {
  attrs: { id: "seed", type: "number", value: "0", min: "0", step: "1", "aria-label": "Seed", title: "Seed: the same for both runs" },
});
const temp = el("input", {
  attrs: { id: "temperature", type: "number", value: "0.8", min: "0.05", step: "0.05", "aria-label": "Temperature" },
});
const sampleOpts = el("span", { class: "sample-opts" }, el("label", {}, "seed ", seed), el("label", {}, "T ", temp));
const syncSampling = () => (sampleOpts.hidden = mode.value !== "sample");
for (const c of [mode, seed, temp])
  c.addEventListener("change", () => {
    syncSampling();
    sendInput();
  });
syncSampling();

const colU = el("div", { class: "tokens", attrs: { id: "unsteered", "aria-label": "Unsteered continuation" } });
const colS = el("div", { class: "tokens", attrs: { id: "steered", "aria-label": "Steered continuation" } });
const plot = readoutPlot();
const diffKey = diffLegend();
const sweep = sweepView();

root.replaceChildren(
  el("header", { class: "steer-header" }, el("h2", { text: "Vectors" }), modelLine),
  rows.root,
  el(
    "div",
    { class: "toolbar" },
    button("Load…", () => post({ type: "introspect/steerAction", action: { kind: "load" } }), "Load .ivec or GGUF control vector files"),
    button(
      "Combine…",
      () => post({ type: "introspect/steerAction", action: { kind: "combine" } }),
      "Sum vectors times their strengths into a new vector",
    ),
    button(
      "Export GGUF…",
      () => post({ type: "introspect/steerAction", action: { kind: "exportGguf" } }),
      "Write the active vectors as a llama.cpp control vector",
    ),
  ),
  expertRows.root,
  el("h2", { text: "Prompt" }),
  prompt,
  el(
    "div",
    { class: "prompt-row" },
    promptSource,
    button(
      "From editor",
      () => post({ type: "introspect/steerAction", action: { kind: "promptFromEditor" } }),
      "Use the editor's selection, or the prompt block under the cursor",
    ),
  ),
  el("div", { class: "sampling-row" }, mode, sampleOpts),
  el(
    "div",
    { class: "columns" },
    el("div", { class: "col" }, el("h3", { text: "Unsteered" }), colU),
    el("div", { class: "col" }, el("h3", { text: "Steered" }), colS),
  ),
  diffKey.root,
  status,
  plot.root,
  sweep.root,
);

function sampling(): SteerSamplingUi {
  if (mode.value !== "sample") return { kind: "greedy" };
  return { kind: "sample", seed: Math.max(0, Math.floor(Number(seed.value) || 0)), temperature: Math.max(0.05, Number(temp.value) || 1) };
}

function sendInput(): void {
  post({
    type: "introspect/steerInput",
    input: { alphas: rows.values(), prompt: prompt.value, sampling: sampling(), experts: expertRows.values() },
  });
}

function applyState(s: SteerPanelState): void {
  state = s;
  rows.update(s.rows, s.settings, s.numLayers);
  expertRows.update(s.experts ?? []);
  if (document.activeElement !== prompt && prompt.value !== s.prompt) prompt.value = s.prompt;
  promptSource.textContent = s.promptSource ? `from ${s.promptSource}` : "";
  modelLine.textContent = s.model ?? "no model";
  if (s.sampling.kind !== mode.value) mode.value = s.sampling.kind;
  if (s.sampling.kind === "sample") {
    seed.value = String(s.sampling.seed);
    temp.value = String(s.sampling.temperature);
  }
  syncSampling();
}

const SPECIAL = /^<\|[^|]*\|>$|^<\/?s>$/;

function tokenSpan(text: string, index: number, diff: boolean, first: boolean): HTMLElement {
  const special = SPECIAL.test(text);
  return el("span", {
    class: "tok" + (diff ? " diff" : "") + (first ? " first-diff" : "") + (special ? " special" : ""),
    text: special ? `⟨${text.replace(/^<\|?|\|?>$/g, "")}⟩` : text,
    attrs: { title: `step ${index + 1}: ${JSON.stringify(text)}` },
    data: { index },
  });
}

function drawColumns(): void {
  const first = steps.find((s) => s.firstDifference !== undefined)?.firstDifference;
  const col = (key: "unsteered" | "steered") =>
    steps
      .filter((s) => s[key].id >= 0)
      .map((s) => tokenSpan(s[key].text, s.index, first !== undefined && s.index >= first, s.index === first));
  colU.replaceChildren(...col("unsteered"));
  colS.replaceChildren(...col("steered"));
  colS.dataset.text = steps
    .filter((s) => s.steered.id >= 0)
    .map((s) => s.steered.text)
    .join("");
  colU.dataset.text = steps
    .filter((s) => s.unsteered.id >= 0)
    .map((s) => s.unsteered.text)
    .join("");
  colS.dataset.firstDifference = first === undefined ? "" : String(first);
  diffKey.show(first);
  plot.draw(steps);
}

function onGen(id: number, s: SteerGenStatus): void {
  if (id < genId) return;
  if (id > genId) {
    genId = id;
    // A restart: the steered side starts again; the unsteered side stays until replaced unless the prompt changed.
    if (prompt.value !== shownPrompt) colU.replaceChildren();
    shownPrompt = prompt.value;
    steps = [];
    colS.replaceChildren();
    colS.classList.add("restarting");
    colU.querySelectorAll(".diff, .first-diff").forEach((t) => t.classList.remove("diff", "first-diff"));
    diffKey.show(undefined);
    plot.draw(steps);
  }
  root.dataset.gen = String(id);
  root.dataset.genStatus = s.kind;
  colS.classList.toggle("restarting", s.kind === "running");
  switch (s.kind) {
    case "running":
      status.textContent = "Generating…";
      break;
    case "done": {
      const first = steps.find((x) => x.firstDifference !== undefined)?.firstDifference;
      status.textContent = `${s.steps} steps${s.firstTokenMs !== undefined ? ` · first step after ${fmt(s.firstTokenMs, 3)} ms` : ""} · ${
        first === undefined ? "no difference" : `first difference at step ${first + 1}`
      }`;
      break;
    }
    case "cancelled":
      status.textContent = "Restarted.";
      break;
    case "failed":
      status.textContent = "";
      status.append(el("span", { class: "error", text: s.message }));
      break;
    case "idle":
      status.textContent = s.message;
      break;
  }
}

window.addEventListener("message", (ev: MessageEvent<ToWebview>) => {
  const msg = ev.data;
  switch (msg?.type) {
    case "introspect/steerState":
      applyState(msg.state);
      break;
    case "introspect/steerGen":
      onGen(msg.genId, msg.status);
      break;
    case "introspect/steerStep":
      if (msg.genId !== genId) return;
      steps[msg.step.index] = msg.step;
      drawColumns();
      break;
    case "introspect/steerSweep":
      sweep.show(msg.sweep as SteerSweepResult | null);
      break;
  }
});

new ResizeObserver(() => plot.draw(steps)).observe(plot.root);
void state;
post({ type: "introspect/ready" });

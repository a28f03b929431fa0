// Probe panel entry (bundled to dist/webview/probe.js). Receives a ProbeResult from the extension
// and lays out the views: token strip, then each analysis's view in the registry's order (layer
// heatmap, logit lens, neurons, attention, experts; ./views.ts), then feature dictionaries.
// Only UI choices go to getState/setState; the extension re-sends the result after a reload.
import {
  lensMissing,
  mergeLensChunk,
  panelViews,
  reviveFloat,
  reviveInt,
  type LensChunk,
  type ProbeResult,
} from "../../src/protocol/probeData";
import { RequestClient, type FromWebview, type ProbePin, type ToWebview } from "../../src/protocol/webview";
import { onThemeChange } from "../shared/colors";
import { heatmapViews, restoreHeatmapViews } from "../shared/heatmapViews";
import { button, el, select } from "../shared/dom";
import { toJson } from "../shared/export";
import { failureBox, showRunning } from "../shared/failure";
import { hideTooltip } from "../shared/tooltip";
import { tokenStrip } from "../shared/tokens";
import { vscodeApi } from "../shared/vscodeApi";
import { compareView } from "./compareView";
import { exportFile } from "./exporting";
import { featureView } from "./featureView";
import { reviveResult, type PanelContext, type UiState } from "./model";
import { compareWithButton, modelDiffView, reviveComparison, type ComparisonState } from "./modelDiffView";
import { sparsityView } from "./sparsityView";
import { VIEWS } from "./views";
import { lensPendingText } from "./lensView";

const api = vscodeApi<UiState>();
const post = (msg: FromWebview): void => api.postMessage(msg);
const client = new RequestClient((m) => post(m));
const state: UiState = { metric: "residNorm", lensStart: 0, moeLayer: "all", clip: true, ...(api.getState() ?? {}) };
const root = document.getElementById("root") ?? document.body.appendChild(el("main", { attrs: { id: "root" } }));
// The shell marks #root live; announcing the whole panel on every render would drown a screen
// reader, so each heatmap has its own small live region instead.
root.removeAttribute("aria-live");
root.replaceChildren(el("p", { class: "muted", text: "Select text in an editor and run “Introspect: Probe Selection”." }));

type ResultMessage = Extract<ToWebview, { type: "introspect/probeResult" }>;
let lastMessage: ResultMessage | undefined;
// Heatmap colours are made of the theme's colours: a theme switch repaints the probe shown,
// keeping each heatmap's zoom and focused cell.
onThemeChange(() => repaint());

/** Draws the probe shown again (theme, pins), keeping what the reader did to its heatmaps. */
function repaint(): void {
  if (!lastMessage) return;
  const views = heatmapViews();
  show(lastMessage);
  restoreHeatmapViews(views);
}
/** The comparison with a second model ("Compare with…") of probe `comparison.probeId`, shown while that probe is. */
let comparison: ComparisonState = {};

function show(msg: ResultMessage): void {
  lastMessage = msg;
  const raw = msg.result;
  const started = performance.now();
  let result: ProbeResult;
  try {
    result = reviveResult(raw);
  } catch (e) {
    root.replaceChildren(el("p", { class: "error", text: e instanceof Error ? e.message : String(e) }));
    return;
  }
  // Pins (several, each labelled by its block); a page given only `pinned` has one unlabelled pin.
  const pins: ProbePin[] = [];
  for (const p of msg.pins ?? (msg.pinned ? [{ key: "pinned", label: "pinned probe", result: msg.pinned }] : [])) {
    try {
      pins.push({ ...p, result: reviveResult(p.result) });
    } catch {
      // A pin saved by an older version: left out.
    }
  }
  const isPinned = pins.some((p) => p.result.id === result.id);
  const others = pins.filter((p) => p.result.id !== result.id);
  const currentLabel = msg.blocks?.find((b) => b.current)?.label ?? "current probe";
  // The revived result is what is shown and drawn again (lens chunks are merged into it).
  lastMessage = { ...msg, result };
  hideTooltip();
  const sel = result.tokens.slice(result.selection.start, result.selection.end);
  if (state.lensStart >= sel.length) state.lensStart = 0;
  // The lens table follows the token selected in any view; it is built after the context exists.
  const follow: { show?(col: number): void } = {};
  const ctx: PanelContext = {
    result,
    sel,
    client,
    post,
    state,
    saveState: () => api.setState(state),
    onTokenFocus: (col) => follow.show?.(col),
    rerender: () => repaint(),
    lensWant: (start, end) => lensWanted(result, start, end),
  };
  const compare = others.length ? compareView(ctx, pins, currentLabel) : undefined;
  const header = el(
    "header",
    { class: "probe-header" },
    el("h1", { text: `Probe · ${result.model.id}` }),
    el("span", {
      class: "muted",
      text: `${sel.length} selected tokens of ${result.tokens.length} · ${result.layerCount} layers · ${result.model.architecture}`,
    }),
    button(
      "Export JSON",
      () =>
        exportFile(
          ctx,
          "json",
          "probe.json",
          toJson(compare ? { result, pinned: others[others.length - 1].result, pins: others, comparison: compare.comparison } : result),
        ),
      compare ? "Save this probe, the pinned ones and the comparison as JSON" : "Save the whole probe result as JSON",
    ),
    pinButton(isPinned, currentLabel),
    blockPicker(msg.blocks ?? []),
    compareWithButton(ctx),
    el("span", { class: "muted", attrs: { id: "export-status", role: "status" } }),
  );
  const notes = result.notes.map((n) => el("p", { class: "note", text: n }));
  // A prompt past the model's positions: what was left out, above everything else.
  if (result.cut)
    notes.unshift(
      el("p", { class: "note warning", attrs: { role: "status" }, data: { warning: "context" }, text: `⚠ ${result.cut.message}` }),
    );
  const strip = el(
    "section",
    { class: "view", attrs: { "aria-labelledby": "tokens-title" }, data: { view: "tokens" } },
    el("h2", { text: "Selection", attrs: { id: "tokens-title" } }),
    tokenStrip(sel, { label: "Selected tokens", offset: result.selection.start, onClick: (i) => follow.show?.(i) }),
  );
  // The analyses' sections, in the registry's order (src/engine/analysis/views.ts, ./views.ts).
  const analyses = panelViews().flatMap((v) => VIEWS[v](ctx, { follow }));
  const diff = comparison.probeId && comparison.probeId === result.id ? [modelDiffView(ctx, comparison)] : [];
  const views: HTMLElement[] = [header, ...notes, ...(compare ? [compare.root] : []), ...diff, strip, ...analyses, featureView(ctx)];
  if (result.neurons) views.push(sparsityView(ctx));
  root.replaceChildren(...views);
  root.classList.remove("stale");
  root.dataset.rendered = String(Date.now());
  // Which probe is drawn, and (once its first frame is out) how long that took: tests wait on these.
  root.dataset.probeId = result.id ?? "";
  delete root.dataset.renderMs;
  requestAnimationFrame(() => {
    const renderMs = performance.now() - started;
    root.dataset.renderMs = renderMs.toFixed(1);
    post({ type: "introspect/rendered", probeId: result.id, renderMs });
  });
  fillLens();
}

// A probe whose logit lens came for its first tokens only (introspect.probe.lensTokens): the rest
// is asked for after the first frame, a chunk at a time, the columns the lens view shows first.
const LENS_CHUNK = 64;
let lensFill: { id: string; want?: { start: number; end: number } } | undefined;

function lensWanted(result: ProbeResult, start: number, end: number): void {
  if (lensFill && lensFill.id === result.id) lensFill.want = { start, end };
}

function fillLens(): void {
  const result = lastMessage?.result;
  if (!result?.id || !lensMissing(result).length || lensFill?.id === result.id) return;
  const fill: NonNullable<typeof lensFill> = { id: result.id, want: { start: state.lensStart, end: state.lensStart + 16 } };
  lensFill = fill;
  const current = () => (lensFill === fill && lastMessage?.result.id === fill.id ? lastMessage.result : undefined);
  void (async () => {
    try {
      for (let r = current(); r && lensMissing(r).length; r = current()) {
        const missing = lensMissing(r);
        const want = fill.want;
        const shown = want && missing.find((m) => m.end > want.start && m.start < want.end);
        const from = shown ? { start: Math.max(shown.start, want.start), end: shown.end } : missing[0];
        const range = { start: from.start, end: Math.min(from.end, from.start + LENS_CHUNK) };
        const chunk = reviveChunk(await client.request("introspect/probeLens", range));
        const now = current();
        if (!now) return;
        mergeLensChunk(now, chunk);
        // Drawn again when the columns shown arrive and when the lens is complete; otherwise only the count moves.
        if (shown || !lensMissing(now).length) repaint();
        else lensStatus(now);
      }
    } catch (e) {
      const now = current();
      if (!now) return;
      now.notes = [
        ...now.notes,
        `The rest of the logit lens could not be computed (${e instanceof Error ? e.message : String(e)}): probe again.`,
      ];
      repaint();
    }
  })();
}

/** The lens view's "computed for N of M tokens" line, updated in place. */
function lensStatus(r: ProbeResult): void {
  const line = document.querySelector<HTMLElement>("[data-lens-pending]");
  if (line) line.textContent = lensPendingText(r);
}

function reviveChunk(c: LensChunk): LensChunk {
  return { ...c, ids: reviveInt(c.ids), probs: reviveFloat(c.probs), nextProb: reviveFloat(c.nextProb), entropy: reviveFloat(c.entropy) };
}

/** Pin keeps this result (labelled by its block) for comparison with the next probes; Unpin drops it. */
function pinButton(isPinned: boolean, label: string): HTMLButtonElement {
  const b = button(
    isPinned ? "Unpin" : "Pin",
    () => post({ type: "introspect/pin", pin: !isPinned }),
    isPinned ? `Stop comparing with ${label}` : `Keep ${label} to compare the next probes with it (up to 4 pins)`,
  );
  b.dataset.control = "pin";
  return b;
}

/** The prompt blocks with a saved result: choosing one shows it again (kept across reloads). */
function blockPicker(blocks: { key: string; label: string; current: boolean }[]): HTMLElement | null {
  if (blocks.length < 2) return null;
  const s = select(
    "Results of",
    blocks.map((b) => ({ value: b.key, label: b.label })),
    blocks.find((b) => b.current)?.key ?? blocks[0].key,
    (key) => post({ type: "introspect/showBlock", key }),
  );
  s.select.dataset.control = "blocks";
  return s.root;
}

window.addEventListener("message", (ev: MessageEvent<ToWebview>) => {
  const msg = ev.data;
  if (client.handleResponse(msg)) return;
  switch (msg?.type) {
    case "introspect/probeResult":
      show(msg);
      break;
    case "introspect/modelComparison":
    case "introspect/modelComparisonStatus":
      comparison =
        msg.type === "introspect/modelComparison"
          ? msg.comparison
            ? { probeId: msg.comparison.probeId, comparison: reviveComparison(msg.comparison) }
            : {}
          : { probeId: msg.probeId, status: msg.status };
      if (lastMessage) show(lastMessage);
      break;
    case "introspect/probeStatus":
      if (msg.status.kind === "failed") {
        // In place of the old result: it is not what this probe asked for.
        hideTooltip();
        lastMessage = undefined;
        root.classList.remove("stale");
        delete root.dataset.probeId;
        root.replaceChildren(failureBox(msg.status.message, msg.status.actions, post));
      } else {
        // A new probe runs: the shown one's lens fill stops (the extension cancels its chunk in flight).
        lensFill = undefined;
        showRunning(root, msg.status.message);
      }
      break;
  }
});

post({ type: "introspect/ready" });

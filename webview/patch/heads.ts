// Per-head patching in the patching panel: "Patch each head" asks the host for the shown run's
// layer x head grid (each head's attn.hook_z slice at every position from clean into corrupted,
// src/engine/patch/heads.ts) and draws it on a diverging scale, with hover values and a CSV export.
// The grid is kept for the run it belongs to. Tests read [data-view=patch-heads][data-state].
import type { HeadPatchData } from "../../src/protocol/headPatch";
import type { PatchRun } from "../../src/protocol/patchData";
import type { RequestClient } from "../../src/protocol/webview";
import { legend, scaleFor } from "../shared/colors";
import { button, el, fmt } from "../shared/dom";
import { toCsv } from "../shared/export";
import { Heatmap, pixelsFromValues } from "../shared/heatmap";

export class HeadsSection {
  private runId = -1;
  private data: HeadPatchData | undefined;
  private error: string | undefined;
  private busy = false;
  private root: HTMLElement | undefined;

  constructor(private readonly client: RequestClient) {}

  render(run: PatchRun): HTMLElement {
    if (run.header.runId !== this.runId) {
      this.runId = run.header.runId;
      this.data = undefined;
      this.error = undefined;
    }
    this.root = el("section", { class: "heads-patch", attrs: { "aria-labelledby": "heads-patch-title" }, data: { view: "patch-heads" } });
    this.fill(run);
    return this.root;
  }

  private fill(run: PatchRun): void {
    const root = this.root!;
    root.dataset.state = this.busy ? "running" : this.data ? "ready" : this.error ? "failed" : "idle";
    const go = button(
      this.data ? "Patch each head again" : "Patch each head",
      () => void this.start(run),
      "Patch one attention head's output (attn.hook_z, every position) from the clean run into the corrupted one, for every layer and head",
    );
    go.dataset.control = "patch-heads";
    go.disabled = this.busy;
    const parts: (HTMLElement | null)[] = [
      el("h2", { text: "Heads · attn.hook_z", attrs: { id: "heads-patch-title" } }),
      el("p", {
        class: "muted explain",
        text: "Each cell patches one head's output at every position (paired from the end) into the corrupted run: 1 restores the clean answer, 0 changes nothing.",
      }),
      el(
        "div",
        { class: "toolbar" },
        go,
        this.data ? button("CSV", () => this.exportCsv(run), "Save layer, head and both metrics as CSV") : null,
      ),
    ];
    if (this.busy) parts.push(el("p", { class: "muted", attrs: { role: "status" }, text: "Patching each head…" }));
    if (this.error) parts.push(el("p", { class: "error", attrs: { role: "alert" }, text: this.error }));
    if (this.data) parts.push(...this.grid(this.data));
    root.replaceChildren(...parts.filter((p): p is HTMLElement => !!p));
  }

  private async start(run: PatchRun): Promise<void> {
    const runId = run.header.runId;
    this.busy = true;
    this.error = undefined;
    this.fill(run);
    try {
      const d = await this.client.request("introspect/patchHeads", {});
      if (runId === this.runId) this.data = d;
    } catch (e) {
      if (runId === this.runId) this.error = e instanceof Error ? e.message : String(e);
    }
    this.busy = false;
    if (runId === this.runId) this.fill(run);
  }

  private grid(d: HeadPatchData): HTMLElement[] {
    const H = d.numHeads;
    const values = Float32Array.from(d.normalised);
    let a = 1;
    for (const v of values) if (Number.isFinite(v)) a = Math.max(a, Math.abs(v));
    const scale = scaleFor(values, "rdbu", [-a, a]);
    const at = (li: number, h: number) => li * H + h;
    const hm = new Heatmap({
      name: "patch-heads",
      label: "Per-head patching: normalised logit difference, layers by heads",
      rows: d.layers.length,
      cols: H,
      pixels: pixelsFromValues(values, scale),
      rowLabel: (li) => `L${d.layers[li]}`,
      colLabel: (h) => `H${h}`,
      describe: (li, h) =>
        `L${d.layers[li]}H${h}: normalised ${fmt(values[at(li, h)], 3)}, logit difference ${fmt(d.logitDiff[at(li, h)], 4)}`,
      tooltip: (li, h) => [
        el("div", { class: "tip-title", text: `L${d.layers[li]}H${h} · attn.hook_z[:, ${h * d.headDim}:${(h + 1) * d.headDim}]` }),
        el("div", { text: `normalised ${fmt(values[at(li, h)], 3)}` }),
        el("div", { text: `logit difference ${fmt(d.logitDiff[at(li, h)], 4)}` }),
      ],
      maxCellW: 56,
      cellH: 22,
    });
    let best = 0;
    values.forEach((v, i) => v > values[best] && (best = i));
    return [
      legend(scale, "Normalised logit difference", (v) => fmt(v, 3)),
      hm.root,
      el("p", {
        class: "muted small",
        attrs: { id: "heads-patch-summary" },
        text: `Strongest: L${d.layers[Math.floor(best / H)]}H${best % H} at ${fmt(values[best], 3)} · ${d.cellsRun} heads patched, ${d.cellsSkipped} unchanged, ${d.forwardPasses} forward passes, ${(d.ms / 1000).toFixed(1)} s`,
      }),
    ];
  }

  private exportCsv(run: PatchRun): void {
    const d = this.data;
    if (!d) return;
    const rows = d.layers.flatMap((layer, li) =>
      Array.from({ length: d.numHeads }, (_, h) => [layer, h, d.normalised[li * d.numHeads + h], d.logitDiff[li * d.numHeads + h]]),
    );
    const csv = toCsv(["layer", "head", "normalised", "logit_diff"], rows);
    const status = document.getElementById("export-status");
    const name = `patching-heads-${(run.header.experiment.source ?? run.header.modelId).replace(/[^\w.-]+/g, "_")}.csv`;
    this.client.request("introspect/export", { format: "csv", suggestedName: name, data: csv }).then(
      (r) => status && (status.textContent = r.path ? `Saved ${r.path}` : "Export cancelled."),
      (e: Error) => status && (status.textContent = `Export failed: ${e.message}`),
    );
  }
}

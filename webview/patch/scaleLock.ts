// The patching heatmaps' colour scale holds still while cells stream in: a run starts at ±1
// (normalised, p(correct)) or ±the larger baseline (logit difference), and cells beyond it are drawn
// at the end colours until the user presses Rescale. A run first seen finished (after a reload)
// is fitted to its cells. Tests read .grids[data-scale-span] and button[data-control=rescale].
import type { PatchMetricName, PatchRun } from "../../src/protocol/patchData";
import { button, el, fmt } from "../shared/dom";
import { dataSpan, startSpan } from "./grids";

export class ScaleLock {
  private runId = -1;
  private readonly spans = new Map<PatchMetricName, number>();

  /** The held half-width for this run and metric. */
  span(run: PatchRun, m: PatchMetricName): number {
    if (run.header.runId !== this.runId) {
      this.runId = run.header.runId;
      this.spans.clear();
    }
    let s = this.spans.get(m);
    if (s === undefined) this.spans.set(m, (s = run.status.kind === "running" ? startSpan(run, m) : dataSpan(run, m)));
    return s;
  }

  /** "Rescale" when some cell lies beyond the held scale (with how many), else null. */
  control(run: PatchRun, m: PatchMetricName, redraw: () => void): HTMLElement | null {
    const held = this.span(run, m);
    const fit = dataSpan(run, m);
    if (!(fit > held * (1 + 1e-6))) return null;
    let beyond = 0;
    for (const g of Object.values(run.grids)) for (const v of g![m]) if (Math.abs(v) > held) beyond++;
    const b = button(
      `Rescale to ±${fmt(fit, 3)}`,
      () => {
        this.spans.set(m, fit);
        redraw();
      },
      "Fit the colour scale to every cell so far (it is held while the sweep runs, so colours keep their meaning)",
    );
    b.dataset.control = "rescale";
    return el(
      "span",
      { class: "rescale" },
      el("span", {
        class: "muted small",
        text: `${beyond} cell${beyond === 1 ? "" : "s"} beyond ±${fmt(held, 3)} drawn at the end colours `,
      }),
      b,
    );
  }
}

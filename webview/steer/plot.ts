// The per-step read-out plot: KL(steered || unsteered) and both entropies over generated steps,
// drawn on one small canvas in theme colours. Values are in nats on one shared axis.
import { el, fmt, themeColor } from "../shared/dom";
import type { SteerStep } from "../../src/protocol/steerData";

export interface ReadoutPlot {
  root: HTMLElement;
  draw(steps: SteerStep[]): void;
}

const SERIES = [
  { key: "kl", label: "KL(steered‖unsteered)", color: ["--vscode-charts-red", "#f14c4c"], dash: [] as number[] },
  { key: "hs", label: "entropy steered", color: ["--vscode-charts-green", "#89d185"], dash: [] as number[] },
  // Drawn last and dashed: where both entropies agree the unsteered one stays visible on top.
  { key: "hu", label: "entropy unsteered", color: ["--vscode-charts-blue", "#3794ff"], dash: [4, 3] },
] as const;

function valuesOf(steps: SteerStep[], key: (typeof SERIES)[number]["key"]): number[] {
  return steps.map((s) => (key === "kl" ? s.kl : key === "hu" ? s.unsteered.entropy : s.steered.entropy));
}

export function readoutPlot(): ReadoutPlot {
  const canvas = el("canvas", { attrs: { id: "readout-plot", role: "img", "aria-label": "KL and entropies per step" } });
  const legend = el(
    "div",
    { class: "legend" },
    ...SERIES.map((s) => {
      const sw = el("span", { class: `swatch ${s.key}` });
      sw.style.background = themeColor(s.color[0], s.color[1]);
      return el("span", { class: "legend-item" }, sw, s.label);
    }),
  );
  const latest = el("p", { class: "muted readout-text", attrs: { id: "readout-text", role: "status" } });
  const root = el("section", { class: "readout" }, canvas, legend, latest);

  function draw(steps: SteerStep[]): void {
    const w = Math.max(120, root.clientWidth || 260);
    const h = 84;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    const g = canvas.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const pad = { l: 30, r: 6, t: 6, b: 14 };
    const all = SERIES.flatMap((s) => valuesOf(steps, s.key)).filter(Number.isFinite);
    const max = Math.max(0.5, ...all);
    const n = Math.max(2, steps.length);
    const x = (i: number) => pad.l + ((w - pad.l - pad.r) * i) / (n - 1);
    const y = (v: number) => h - pad.b - ((h - pad.t - pad.b) * Math.min(v, max)) / max;
    const fg = themeColor("--vscode-descriptionForeground", "#999");
    g.strokeStyle = fg;
    g.globalAlpha = 0.4;
    g.beginPath();
    g.moveTo(pad.l, pad.t);
    g.lineTo(pad.l, h - pad.b);
    g.lineTo(w - pad.r, h - pad.b);
    g.stroke();
    g.globalAlpha = 1;
    g.fillStyle = fg;
    g.font = "10px sans-serif";
    g.fillText(fmt(max, 2), 2, pad.t + 8);
    g.fillText("0", 2, h - pad.b);
    g.fillText(`step ${steps.length}`, w - pad.r - 44, h - 2);
    for (const s of SERIES) {
      const vs = valuesOf(steps, s.key);
      if (!vs.length) continue;
      g.strokeStyle = themeColor(s.color[0], s.color[1]);
      g.setLineDash([...s.dash]);
      g.lineWidth = 1.5;
      g.beginPath();
      vs.forEach((v, i) => (i ? g.lineTo(x(i), y(v)) : g.moveTo(x(i), y(v))));
      if (vs.length === 1) g.lineTo(x(0) + 2, y(vs[0]));
      g.stroke();
    }
    g.setLineDash([]);
    const last = steps[steps.length - 1];
    latest.textContent = last
      ? `step ${last.index + 1}: KL ${fmt(last.kl)} nats · entropy unsteered ${fmt(last.unsteered.entropy)} · steered ${fmt(last.steered.entropy)} · mean KL ${fmt(
          steps.reduce((a, s) => a + s.kl, 0) / steps.length,
        )}`
      : "";
  }
  return { root, draw };
}

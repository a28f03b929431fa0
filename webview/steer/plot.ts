// The per-step read-out plot: KL(steered || unsteered) and both entropies over generated steps,
// on one canvas in theme colours, with y ticks in nats, x ticks in steps and both axes labelled.
// Values are in nats on one shared axis. The ticks drawn are also on the canvas's data-x-ticks /
// data-y-ticks, and the last values in a text line, for screen readers and tests.
import { el, fmt, themeColor } from "../shared/dom";
import type { SteerStep } from "../../src/protocol/steerData";

export interface ReadoutPlot {
  root: HTMLElement;
  draw(steps: SteerStep[]): void;
}

const SERIES = [
  { key: "kl", label: "KL(steered‖unsteered)", color: ["--vscode-charts-orange", "#d18616"], dash: [] as number[] },
  { key: "hs", label: "entropy steered", color: ["--vscode-charts-purple", "#b180d7"], dash: [] as number[] },
  // Drawn last and dashed: where both entropies agree the unsteered one stays visible on top.
  { key: "hu", label: "entropy unsteered", color: ["--vscode-charts-blue", "#3794ff"], dash: [5, 3] },
] as const;

const HEIGHT = 180;

function valuesOf(steps: SteerStep[], key: (typeof SERIES)[number]["key"]): number[] {
  return steps.map((s) => (key === "kl" ? s.kl : key === "hu" ? s.unsteered.entropy : s.steered.entropy));
}

/** Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  const span = max > 0 && Number.isFinite(max) ? max : 1;
  const raw = span / Math.max(1, count - 1);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let i = 0; ; i++) {
    const v = Number((i * step).toPrecision(12));
    ticks.push(v);
    if (v >= span) break;
  }
  return ticks;
}

export function readoutPlot(): ReadoutPlot {
  const canvas = el("canvas", { attrs: { id: "readout-plot", role: "img", "aria-label": "KL and entropies per step, in nats" } });
  const legend = el(
    "div",
    { class: "legend" },
    ...SERIES.map((s) => {
      const sw = el("span", { class: `swatch ${s.key}${s.dash.length ? " dashed" : ""}` });
      sw.style.background = themeColor(s.color[0], s.color[1]);
      return el("span", { class: "legend-item" }, sw, s.label);
    }),
  );
  const latest = el("p", { class: "muted readout-text", attrs: { id: "readout-text", role: "status" } });
  const root = el("section", { class: "readout" }, el("h3", { text: "Divergence and entropy per step" }), canvas, legend, latest);

  function draw(steps: SteerStep[]): void {
    const w = Math.max(200, root.clientWidth || 300);
    const h = HEIGHT;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
    const g = canvas.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const pad = { l: 44, r: 10, t: 10, b: 34 };
    const all = SERIES.flatMap((s) => valuesOf(steps, s.key)).filter(Number.isFinite);
    const yTicks = niceTicks(Math.max(0.5, ...all), 5);
    const max = yTicks[yTicks.length - 1];
    const n = Math.max(2, steps.length);
    const xTicks = niceTicks(n, Math.max(2, Math.min(8, Math.floor((w - pad.l - pad.r) / 48))))
      .map((t) => Math.max(1, t))
      .filter((t, i, a) => t <= n && a.indexOf(t) === i);
    const x = (step: number) => pad.l + ((w - pad.l - pad.r) * (step - 1)) / (n - 1);
    const y = (v: number) => h - pad.b - ((h - pad.t - pad.b) * Math.min(v, max)) / max;
    const fg = themeColor("--vscode-descriptionForeground", "#999");
    const font = themeColor("--vscode-font-family", "sans-serif");
    // Grid lines at the y ticks, faint; the axes solid.
    g.strokeStyle = fg;
    g.lineWidth = 1;
    g.globalAlpha = 0.18;
    g.beginPath();
    for (const t of yTicks.slice(1)) {
      g.moveTo(pad.l, Math.round(y(t)) + 0.5);
      g.lineTo(w - pad.r, Math.round(y(t)) + 0.5);
    }
    g.stroke();
    g.globalAlpha = 0.7;
    g.beginPath();
    g.moveTo(pad.l + 0.5, pad.t);
    g.lineTo(pad.l + 0.5, h - pad.b + 0.5);
    g.lineTo(w - pad.r, h - pad.b + 0.5);
    g.stroke();
    g.globalAlpha = 1;
    g.fillStyle = fg;
    g.font = `11px ${font}`;
    g.textAlign = "right";
    g.textBaseline = "middle";
    for (const t of yTicks) g.fillText(fmt(t), pad.l - 6, y(t));
    g.textAlign = "center";
    g.textBaseline = "top";
    for (const t of xTicks) {
      g.fillText(String(t), x(t), h - pad.b + 4);
      g.fillRect(Math.round(x(t)), h - pad.b, 1, 3);
    }
    g.fillText("step", pad.l + (w - pad.l - pad.r) / 2, h - 14);
    g.save();
    g.translate(11, pad.t + (h - pad.t - pad.b) / 2);
    g.rotate(-Math.PI / 2);
    g.fillText("nats", 0, -6);
    g.restore();
    canvas.dataset.yTicks = yTicks.map((t) => fmt(t)).join(",");
    canvas.dataset.xTicks = xTicks.join(",");
    for (const s of SERIES) {
      const vs = valuesOf(steps, s.key);
      if (!vs.length) continue;
      g.strokeStyle = themeColor(s.color[0], s.color[1]);
      g.setLineDash([...s.dash]);
      g.lineWidth = 2;
      g.beginPath();
      vs.forEach((v, i) => (i ? g.lineTo(x(i + 1), y(v)) : g.moveTo(x(1), y(v))));
      if (vs.length === 1) g.lineTo(x(1) + 3, y(vs[0]));
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

// Exports of the patching panel. JSON holds the experiment's inputs with the results (so a saved
// file says what produced it); CSV has one row per cell with all three metrics; PNG stacks the
// site heatmaps under their titles. Saving goes through the extension's save dialog.
import { exportJson as runJson, shortSite, type PatchRun, type PatchSiteKind } from "../../src/protocol/patchData";
import type { RequestClient } from "../../src/protocol/webview";
import { canvasPng, toCsv, toJson } from "../shared/export";

function save(client: RequestClient, format: "png" | "csv" | "json", suggestedName: string, data: ArrayBuffer | string): void {
  const status = document.getElementById("export-status");
  client.request("introspect/export", { format, suggestedName, data }).then(
    (r) => status && (status.textContent = r.path ? `Saved ${r.path}` : "Export cancelled."),
    (e: Error) => status && (status.textContent = `Export failed: ${e.message}`),
  );
}

const baseName = (run: PatchRun) => `patching-${(run.header.experiment.source ?? run.header.modelId).replace(/[^\w.-]+/g, "_")}`;

export function exportJson(client: RequestClient, run: PatchRun): void {
  save(client, "json", `${baseName(run)}.json`, toJson(runJson(run)));
}

export function csvRows(run: PatchRun): (string | number)[][] {
  const h = run.header;
  const P = h.positions.length;
  const rows: (string | number)[][] = [];
  for (const [site, g] of Object.entries(run.grids) as [PatchSiteKind, NonNullable<PatchRun["grids"][PatchSiteKind]>][]) {
    h.layers.forEach((layer, li) =>
      h.positions.forEach((pos, pi) => {
        const k = li * P + pi;
        rows.push([
          shortSite(site),
          layer,
          pos,
          h.corruptTokens[pos].text,
          h.cleanPositions[pi],
          g.normalised[k],
          g.logitDiff[k],
          g.pCorrect[k],
        ]);
      }),
    );
  }
  return rows;
}

export function exportCsv(client: RequestClient, run: PatchRun): void {
  const header = ["site", "layer", "position", "token", "clean_position", "normalised_logit_diff", "logit_diff", "p_correct"];
  save(client, "csv", `${baseName(run)}.csv`, toCsv(header, csvRows(run)));
}

/** One PNG of every site's heatmap, each under its title, on the panel's background colour. */
export async function exportPng(client: RequestClient, host: HTMLElement, run: PatchRun | undefined): Promise<void> {
  if (!run) return;
  const canvases = Array.from(host.querySelectorAll("section.site"), (s) => ({
    title: (s as HTMLElement).dataset.site ?? "",
    canvas: s.querySelector("canvas.heatmap-canvas") as HTMLCanvasElement | null,
  }));
  const parts = canvases.filter((c): c is { title: string; canvas: HTMLCanvasElement } => !!c.canvas);
  if (!parts.length) return;
  const titleH = 24 * (window.devicePixelRatio || 1);
  const w = Math.max(...parts.map((p) => p.canvas.width));
  const hgt = parts.reduce((n, p) => n + p.canvas.height + titleH, 0);
  const out = document.createElement("canvas");
  out.width = w;
  out.height = hgt;
  const ctx = out.getContext("2d")!;
  const style = getComputedStyle(document.body);
  ctx.fillStyle = style.backgroundColor || "#1e1e1e";
  ctx.fillRect(0, 0, w, hgt);
  ctx.fillStyle = style.color || "#cccccc";
  ctx.font = `${Math.round(titleH * 0.6)}px sans-serif`;
  let y = 0;
  for (const p of parts) {
    ctx.fillText(p.title, 8, y + titleH * 0.75);
    ctx.drawImage(p.canvas, 0, y + titleH);
    y += p.canvas.height + titleH;
  }
  save(client, "png", `${baseName(run)}.png`, await canvasPng(out));
}

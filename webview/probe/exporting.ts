// Sends exported bytes to the extension, which shows a save dialog; tells the user the outcome.
import type { PanelContext } from "./model";

export function exportFile(ctx: PanelContext, format: "png" | "csv" | "json", suggestedName: string, data: ArrayBuffer | string): void {
  const status = document.getElementById("export-status");
  ctx.client.request("introspect/export", { format, suggestedName, data }).then(
    (r) => status && (status.textContent = r.path ? `Saved ${r.path}` : "Export cancelled."),
    (e: Error) => status && (status.textContent = `Export failed: ${e.message}`),
  );
}

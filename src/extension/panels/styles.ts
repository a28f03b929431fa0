// Which stylesheets (in media/) a webview app's page links, in order: shared sheets first, then
// the app's own media/<app>.css. No `vscode` import, so the webview test harness links the same
// sheets as renderHtml and its screenshots show what the panel shows.

/** Apps drawn in the shared panel look (media/panel.css: type, controls, token chips, heatmaps, tooltip, tables). */
const SHARED: Readonly<Record<string, readonly string[]>> = {
  probe: ["panel"],
  patch: ["panel"],
  experts: ["panel"],
};

/** Names (without ".css") of the stylesheets for `app`; the app's own sheet is last and may not exist. */
export function stylesheetsFor(app: string): string[] {
  return [...(SHARED[app] ?? []), app];
}

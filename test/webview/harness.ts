// Renders a webview app outside VS Code: bundles webview/<app>/main.ts with esbuild, serves it
// from a fake origin through playwright's request routing (no server process), under the same
// CSP as the extension's panel shell, with an acquireVsCodeApi stub and theme variables.
// Fixtures travel into the page as JSON with typed arrays and ArrayBuffers base64-encoded
// (toPageJson) and are revived there into Float32Array / Int32Array / ArrayBuffer before being
// posted: the page receives what VS Code's postMessage (a structured clone) would deliver.
import * as esbuild from "esbuild";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromium, type Browser, type Page } from "playwright-core";
import { toWire } from "../../src/protocol/wire";
import { stylesheetsFor } from "../../src/extension/panels/styles";

export const ORIGIN = "http://introspect.test";
const ROOT = path.resolve(__dirname, "../..");

export type Theme = "dark" | "light" | "high-contrast";

const THEMES: Record<Theme, Record<string, string>> = {
  dark: {
    foreground: "#cccccc",
    "editor-background": "#1e1e1e",
    descriptionForeground: "#9d9d9d",
    "panel-border": "#80808059",
    focusBorder: "#0078d4",
    "editorHoverWidget-background": "#252526",
    "editorHoverWidget-border": "#454545",
    "button-background": "#0e639c",
    "button-foreground": "#ffffff",
    "button-secondaryBackground": "#3a3d41",
    "button-secondaryForeground": "#cccccc",
    "dropdown-background": "#3c3c3c",
    "dropdown-foreground": "#f0f0f0",
    "dropdown-border": "#3c3c3c",
    "textCodeBlock-background": "#0a0a0a66",
    "textBlockQuote-background": "#222222",
    errorForeground: "#f48771",
    "charts-green": "#89d185",
    "editorInfo-foreground": "#3794ff",
    "editor-font-family": "monospace",
    "font-family": "sans-serif",
    "font-size": "13px",
  },
  light: {
    foreground: "#3b3b3b",
    "editor-background": "#ffffff",
    descriptionForeground: "#717171",
    "panel-border": "#e5e5e5",
    focusBorder: "#005fb8",
    "editorHoverWidget-background": "#f8f8f8",
    "editorHoverWidget-border": "#c8c8c8",
    "button-background": "#005fb8",
    "button-foreground": "#ffffff",
    "button-secondaryBackground": "#e5e5e5",
    "button-secondaryForeground": "#3b3b3b",
    "dropdown-background": "#ffffff",
    "dropdown-foreground": "#3b3b3b",
    "dropdown-border": "#cecece",
    "textCodeBlock-background": "#f0f0f0",
    "textBlockQuote-background": "#f2f2f2",
    errorForeground: "#a1260d",
    "charts-green": "#388a34",
    "editorInfo-foreground": "#1a85ff",
    "editor-font-family": "monospace",
    "font-family": "sans-serif",
    "font-size": "13px",
  },
  "high-contrast": {
    foreground: "#ffffff",
    "editor-background": "#000000",
    descriptionForeground: "#ffffff",
    "panel-border": "#6fc3df",
    focusBorder: "#f38518",
    contrastBorder: "#6fc3df",
    "editorHoverWidget-background": "#0c141f",
    "editorHoverWidget-border": "#6fc3df",
    "button-background": "#000000",
    "button-foreground": "#ffffff",
    "button-border": "#6fc3df",
    "dropdown-background": "#000000",
    "dropdown-foreground": "#ffffff",
    "dropdown-border": "#6fc3df",
    "textCodeBlock-background": "#000000",
    "textBlockQuote-background": "#000000",
    errorForeground: "#f48771",
    "charts-green": "#89d185",
    "editorInfo-foreground": "#3794ff",
    "editor-font-family": "monospace",
    "font-family": "sans-serif",
    "font-size": "13px",
  },
};

/** Bundles the app into a temp dir; returns the bundle's path. */
export async function buildApp(app: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `introspect-webview-${app}-`));
  const outfile = path.join(dir, `${app}.js`);
  await esbuild.build({
    entryPoints: [path.join(ROOT, "webview", app, "main.ts")],
    bundle: true,
    format: "iife",
    platform: "browser",
    target: "es2022",
    outfile,
    logLevel: "error",
  });
  return outfile;
}

// The acquireVsCodeApi stub: records posts in window.__posted and answers requests the way the
// extension would (export -> a path; neurons / attention -> data registered by the test).
const STUB = `
window.__posted = []; window.__answers = {}; window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI));
let state;
window.acquireVsCodeApi = () => ({
  postMessage(m) {
    window.__posted.push(m);
    if (m && m.type === "request") {
      const key = m.method === "introspect/export" ? "export" : m.method + ":" + JSON.stringify(m.params);
      const ans = m.method === "introspect/export" ? { path: "/tmp/exported." + m.params.format } : window.__answers[key];
      setTimeout(() => window.postMessage(ans ? { type: "response", id: m.id, ok: true, result: window.__revive(ans) }
        : { type: "response", id: m.id, ok: false, error: "No data for " + key }, "*"), 5);
    }
  },
  getState() { return state; },
  setState(s) { state = s; },
});
window.__revive = function revive(v) {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    const bytes = (s) => { const b = atob(s); const u = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u.buffer; };
    if (typeof v.$b64f32 === "string") return new Float32Array(bytes(v.$b64f32));
    if (typeof v.$b64i32 === "string") return new Int32Array(bytes(v.$b64i32));
    if (typeof v.$b64buf === "string") return bytes(v.$b64buf);
    const o = {}; for (const k of Object.keys(v)) o[k] = revive(v[k]); return o;
  }
  return v;
};
`;

function page(app: string, theme: Theme): string {
  const nonce = "harnessNonce0123";
  const vars = Object.entries(THEMES[theme])
    .map(([k, v]) => `--vscode-${k}: ${v};`)
    .join(" ");
  const csp = [
    "default-src 'none'",
    `img-src ${ORIGIN} data: blob:`,
    `style-src ${ORIGIN} 'nonce-${nonce}'`,
    `font-src ${ORIGIN}`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  // The same stylesheets as renderHtml: shared sheets, then the app's own.
  const links = stylesheetsFor(app)
    .map((name) => `<link rel="stylesheet" href="${ORIGIN}/media/${name}.css">`)
    .join("\n");
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style nonce="${nonce}">
  :root { ${vars} }
  body { color: var(--vscode-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); padding: 0 16px; margin: 0; }
</style>
${links}
</head><body class="vscode-${theme}"><main id="root" aria-live="polite"></main>
<script nonce="${nonce}">${STUB}</script>
<script nonce="${nonce}" src="${ORIGIN}/dist/${app}.js"></script>
</body></html>`;
}

export interface Harness {
  browser: Browser;
  open(theme: Theme, viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function startHarness(app: string): Promise<Harness> {
  const bundle = await buildApp(app);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  return {
    browser,
    async open(theme, viewport = { width: 1200, height: 900 }) {
      const p = await browser.newPage({ viewport });
      await p.route(`${ORIGIN}/**`, (route) => {
        const url = new URL(route.request().url());
        if (url.pathname === "/") return route.fulfill({ contentType: "text/html", body: page(app, theme) });
        if (url.pathname === `/dist/${app}.js`) return route.fulfill({ contentType: "text/javascript", body: fs.readFileSync(bundle) });
        if (url.pathname.startsWith("/media/")) {
          const f = path.join(ROOT, "media", path.basename(url.pathname));
          return fs.existsSync(f)
            ? route.fulfill({ contentType: "text/css", body: fs.readFileSync(f) })
            : route.fulfill({ status: 404, body: "" });
        }
        return route.fulfill({ status: 404, body: "" });
      });
      await p.goto(`${ORIGIN}/`);
      return p;
    },
    async close() {
      await browser.close();
      fs.rmSync(path.dirname(bundle), { recursive: true, force: true });
    },
  };
}

/**
 * JSON for the page's __revive: typed arrays as probeData's toWire tags, ArrayBuffers (the
 * patching panel's WebviewTensor.buffer) as $b64buf.
 */
function toPageJson(msg: unknown): string {
  const buffers = (v: unknown): unknown => {
    if (v instanceof ArrayBuffer) return { $b64buf: Buffer.from(v).toString("base64") };
    if (ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) return v.map(buffers);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, buffers(x)]));
    return v;
  };
  return JSON.stringify(toWire(buffers(msg)));
}

/** Posts a message to the page as the extension would (typed arrays and ArrayBuffers intact). */
export async function postToPage(p: Page, msg: unknown): Promise<void> {
  // One JSON string crosses into the page: much faster than letting playwright serialise a deep object.
  await p.evaluate(
    (json) => window.postMessage((window as unknown as { __revive(v: unknown): unknown }).__revive(JSON.parse(json)), "*"),
    toPageJson(msg),
  );
}

/** Registers the stub's answer to a request (method + params as the panel will send them). */
export async function answer(p: Page, method: string, params: unknown, result: unknown): Promise<void> {
  const key = `${method}:${JSON.stringify(params)}`;
  await p.evaluate(
    ([k, v]) => ((window as unknown as { __answers: Record<string, unknown> }).__answers[k as string] = v),
    [key, JSON.parse(toPageJson(result))],
  );
}

export function outputDir(): string {
  const d = path.join(ROOT, ".test-output", "webview");
  fs.mkdirSync(d, { recursive: true });
  return d;
}

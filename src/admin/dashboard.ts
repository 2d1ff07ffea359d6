/**
 * The dashboard: one HTML page, its script and style, and uPlot (the chart
 * library) served from `node_modules` by the admin app itself: no CDN, works
 * offline. The page uses relative URLs under a `<base>` set from the request,
 * so it works wherever the admin app is mounted (`/`, `/proxy`, ...).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Context } from "hono";
import { AdminError } from "./errors.ts";

interface Asset {
  readonly path: () => string;
  readonly type: string;
}

const require = createRequire(import.meta.url);
const here = (name: string) => () => fileURLToPath(new URL(name, import.meta.url));
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** Files under `assets/`, by name. */
const ASSETS: Record<string, Asset> = {
  "dashboard.js": { path: here("./dashboard.js"), type: JS },
  "dashboard.css": { path: here("./dashboard.css"), type: CSS },
  "uPlot.iife.min.js": { path: () => require.resolve("uplot/dist/uPlot.iife.min.js"), type: JS },
  "uPlot.min.css": { path: () => require.resolve("uplot/dist/uPlot.min.css"), type: CSS },
};

/** What the page may load: itself only. No inline script, no third party. */
const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
  "img-src 'self' data:", "base-uri 'self'", "form-action 'none'", "frame-ancestors 'none'",
].join("; ");

const cache = new Map<string, string>();

function read(name: string, path: () => string): string {
  let text = cache.get(name);
  if (text === undefined) {
    try {
      text = readFileSync(path(), "utf8");
    } catch {
      throw new AdminError(404, "not_found", `dashboard asset ${name} is not installed`);
    }
    cache.set(name, text);
  }
  return text;
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** GET `/`: the page, with `<base>` pointing at where the admin app is mounted. */
export function dashboardPage(c: Context): Response {
  const path = c.req.path;
  const base = path.endsWith("/") ? path : `${path}/`;
  const html = read("dashboard.html", here("./dashboard.html")).replace("{{BASE}}", escapeAttr(base));
  return c.html(html, 200, { "content-security-policy": CSP, "cache-control": "no-cache" });
}

/** GET `/assets/:name`. */
export function dashboardAsset(c: Context): Response {
  const name = c.req.param("name") ?? "";
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) throw new AdminError(404, "not_found", `no asset named "${name}"`);
  return c.body(read(name, asset.path), 200, { "content-type": asset.type, "cache-control": "no-cache" });
}

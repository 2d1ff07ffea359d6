/**
 * Safe mapping of a request target onto a file under a static root: no way
 * out of the root by `..`, percent-encoded dots or slashes, NUL bytes, or
 * symlinks that lead outside it.
 *
 * @module
 */
import { realpathSync } from "node:fs";

/** The file to serve, or the status to answer instead. */
export type ResolvedPath = { kind: "file"; path: string } | { kind: "refused"; status: 400 | 403 | 404 };

/** Decodes the path of `target` (query and fragment dropped); undefined when it is not acceptable. */
export function decodeTargetPath(target: string): string | undefined {
  const raw = target.split(/[?#]/, 1)[0];
  if (!raw.startsWith("/")) return undefined;
  if (/%2f|%5c|%00/i.test(raw)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (path.includes("\0") || path.includes("\\")) return undefined;
  return path;
}

/** Whether any segment of the decoded path is `.` or `..`. */
function hasDotSegment(path: string): boolean {
  return path.split("/").some((seg) => seg === ".." || seg === ".");
}

const rootCache = new Map<string, string>();

/** The real path of a root, cached (roots do not move while serving). */
export function realRoot(root: string): string {
  let real = rootCache.get(root);
  if (real === undefined) {
    real = realpathSync(root);
    rootCache.set(root, real);
  }
  return real;
}

/**
 * Resolves `target` under `root`. Symlinks are followed, and the result must
 * still be inside the root's real path.
 */
export function resolveUnderRoot(root: string, target: string): ResolvedPath {
  const path = decodeTargetPath(target);
  if (path === undefined) return { kind: "refused", status: 400 };
  if (hasDotSegment(path)) return { kind: "refused", status: 403 };
  let base: string;
  try {
    base = realRoot(root);
  } catch {
    return { kind: "refused", status: 404 };
  }
  let real: string;
  try {
    real = realpathSync(base + path);
  } catch {
    return { kind: "refused", status: 404 };
  }
  if (real !== base && !real.startsWith(base.endsWith("/") ? base : `${base}/`)) return { kind: "refused", status: 403 };
  return { kind: "file", path: real };
}

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8", htm: "text/html; charset=utf-8", css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8", mjs: "text/javascript; charset=utf-8", json: "application/json",
  txt: "text/plain; charset=utf-8", md: "text/markdown; charset=utf-8", xml: "application/xml",
  svg: "image/svg+xml", png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif",
  webp: "image/webp", avif: "image/avif", ico: "image/x-icon", wasm: "application/wasm", pdf: "application/pdf",
  woff: "font/woff", woff2: "font/woff2", ttf: "font/ttf", otf: "font/otf", mp4: "video/mp4",
  webm: "video/webm", mp3: "audio/mpeg", ogg: "audio/ogg", wav: "audio/wav", zip: "application/zip",
  gz: "application/gzip", tar: "application/x-tar", csv: "text/csv; charset=utf-8",
};

/** Content-Type by file extension; application/octet-stream when unknown. */
export function contentType(path: string): string {
  const dot = path.lastIndexOf(".");
  const ext = dot < 0 ? "" : path.slice(dot + 1).toLowerCase();
  return TYPES[ext] ?? "application/octet-stream";
}

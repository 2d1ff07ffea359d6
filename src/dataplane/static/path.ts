/**
 * Request targets of static routes as paths under a root: no `..`, no
 * percent-encoded dots or slashes, no NUL bytes, dotfiles only when allowed;
 * and content types by extension. Symlinks are the opener's business (open.ts).
 *
 * @module
 */

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

/** A request path split into segments, or the status to answer instead. */
export type RequestPath =
  | { kind: "path"; segments: readonly string[]; directory: boolean }
  | { kind: "refused"; status: 400 | 403 | 404 };

/**
 * Splits the path of `target` into the segments to open under the root:
 * empty segments dropped, `.`/`..` refused (403), and with `dotfiles: "deny"`
 * any segment starting with "." refused as not found (404). `directory` says
 * the path ends in "/". Nothing here touches the file system: what the path
 * names is decided by opening it (open.ts).
 */
export function requestPath(target: string, dotfiles: "deny" | "allow"): RequestPath {
  const path = decodeTargetPath(target);
  if (path === undefined) return { kind: "refused", status: 400 };
  const segments = path.split("/").filter((seg) => seg !== "");
  if (segments.some((seg) => seg === "." || seg === "..")) return { kind: "refused", status: 403 };
  if (dotfiles === "deny" && segments.some((seg) => seg.startsWith("."))) return { kind: "refused", status: 404 };
  return { kind: "path", segments, directory: path.endsWith("/") };
}

/** `target` with a "/" after its path (query kept), runs of "/" folded so it cannot become `//host`. */
export function withTrailingSlash(target: string): string {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  return `${path.replace(/\/{2,}/g, "/")}/${q < 0 ? "" : target.slice(q)}`;
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

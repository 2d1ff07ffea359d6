/**
 * Static files: the head is built in JS, the body goes by sendfile(2) from
 * the file straight to the client socket. Which file is decided by opening
 * it under the root (open.ts) and by the fstat of the opened fd.
 *
 * @module
 */
import * as C from "../../../ffi/constants.ts";
import type { Sys } from "../../../ffi/sys.ts";
import type { RequestHead } from "../../http/request.ts";
import { encodeLatin1 } from "../../http/chars.ts";
import { plainResponse, responseHead } from "../../http/errors.ts";
import type { RouteInit } from "../protocol.ts";
import { FileSender } from "../io/file_sender.ts";
import type { Stream } from "../io/stream.ts";
import { contentType, requestPath, type RequestPath, withTrailingSlash } from "./path.ts";
import { openRoot, openWithFacts, type Opened } from "./open.ts";
import { etagOf, lastModifiedOf, notModified, rangeOf } from "./conditional.ts";

/** What the session must do after serveStatic queued the head. */
export interface StaticResult {
  readonly status: number;
  /** The client connection may stay open afterwards. */
  readonly keepAlive: boolean;
  /** The body to send after the head, if any. */
  readonly file: FileSender | undefined;
}

interface OpenFile extends Opened {
  /** The name the type is taken from (the request's last segment, or the index). */
  readonly name: string;
}

/** Where a static request leads: a file to send, a redirect to the directory, or a status. */
type Located =
  | { kind: "file"; file: OpenFile }
  | { kind: "redirect"; location: string }
  | { kind: "refused"; status: 400 | 403 | 404 };

const NOT_FOUND: Located = { kind: "refused", status: 404 };

/** The answer to a failed open: 403 when permission was denied, else 404 (no existence leaks). */
function refusal(errno: number): Located {
  return errno === -C.EACCES || errno === -C.EPERM ? { kind: "refused", status: 403 } : NOT_FOUND;
}

/**
 * Locates `target` under the route's root. Only regular files are served; a
 * directory answers its index when the path ends in "/" and a 301 to the path
 * with "/" otherwise; anything else (FIFO, device, socket) is not found.
 */
function locate(sys: Sys, route: RouteInit, target: string): Located {
  const path = requestPath(stripped(route, target), route.staticDotfiles);
  if (path.kind === "refused") return path;
  const root = openRoot(sys, route.staticRoot!);
  if (root < 0) return refusal(root);
  try {
    return locateUnder(sys, root, route, target, path);
  } finally {
    sys.close(root);
  }
}

function locateUnder(sys: Sys, root: number, route: RouteInit, target: string, path: RequestPath & { kind: "path" }): Located {
  const opened = openWithFacts(sys, root, path.segments);
  if (typeof opened === "number") return refusal(opened);
  if (opened.type === C.S_IFREG && !path.directory) return { kind: "file", file: { ...opened, name: path.segments.at(-1) ?? "" } };
  sys.close(opened.fd);
  // "/a.txt/" names a directory, and a file there is not found; so is anything neither file nor directory.
  if (opened.type !== C.S_IFDIR) return NOT_FOUND;
  if (!path.directory) return { kind: "redirect", location: withTrailingSlash(target) };
  const indexSegments = route.staticIndex.split("/").filter((seg) => seg !== "");
  const index = openWithFacts(sys, root, [...path.segments, ...indexSegments]);
  if (typeof index === "number") return refusal(index);
  if (index.type === C.S_IFREG) return { kind: "file", file: { ...index, name: route.staticIndex } };
  sys.close(index.fd);
  return NOT_FOUND;
}

function stripped(route: RouteInit, target: string): string {
  if (!route.stripPrefix || route.path === "/") return target;
  const rest = target.slice(route.path.replace(/\/$/, "").length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/**
 * Queues the response head (and small bodies) for a static request; returns what follows.
 * `extra`: fields every answer carries (the request id, when ids are on).
 */
export function serveStatic(sys: Sys, route: RouteInit, req: RequestHead, out: Stream, extra?: Readonly<Record<string, string>>): StaticResult {
  const keep = req.keepAlive;
  const headOnly = req.method === "HEAD";
  if (req.method !== "GET" && !headOnly) {
    out.push(plainResponse(405, "method not allowed on a static route", { keepAlive: keep, fields: { Allow: "GET, HEAD", ...extra } }));
    return { status: 405, keepAlive: keep && req.framing.kind === "none", file: undefined };
  }
  const found = locate(sys, route, req.target);
  if (found.kind === "redirect") {
    out.push(plainResponse(301, undefined, { keepAlive: keep, headOnly, fields: { Location: found.location, ...extra } }));
    return { status: 301, keepAlive: keep, file: undefined };
  }
  if (found.kind === "refused") {
    const status = found.status;
    out.push(plainResponse(status, status === 404 ? "no such file" : "refused", { keepAlive: keep, headOnly, fields: extra }));
    return { status, keepAlive: keep, file: undefined };
  }
  return respondWithFile(sys, req, found.file, out, extra);
}

function respondWithFile(sys: Sys, req: RequestHead, file: OpenFile, out: Stream, extra: Readonly<Record<string, string>> | undefined): StaticResult {
  const headers = new Map(req.headers.map(([n, v]) => [n.toLowerCase(), v]));
  const common: Record<string, string> = {
    "Content-Type": contentType(file.name),
    "ETag": etagOf(file), "Last-Modified": lastModifiedOf(file), "Accept-Ranges": "bytes", ...extra,
  };
  const keep = req.keepAlive;
  if (notModified(headers, file)) {
    sys.close(file.fd);
    out.push(head(304, { ETag: common.ETag, "Last-Modified": common["Last-Modified"], ...extra }, undefined, keep));
    return { status: 304, keepAlive: keep, file: undefined };
  }
  const range = rangeOf(headers, file);
  if (range.kind === "unsatisfiable") {
    sys.close(file.fd);
    out.push(plainResponse(416, "range not satisfiable", { keepAlive: keep, headOnly: req.method === "HEAD", fields: { "Content-Range": `bytes */${file.size}`, ...extra } }));
    return { status: 416, keepAlive: keep, file: undefined };
  }
  const [status, start, length] = range.kind === "partial"
    ? [206, range.range.start, range.range.end - range.range.start + 1]
    : [200, 0, file.size];
  if (range.kind === "partial") common["Content-Range"] = `bytes ${start}-${start + length - 1}/${file.size}`;
  out.push(head(status, common, length, keep));
  if (req.method === "HEAD" || length === 0) {
    sys.close(file.fd);
    return { status, keepAlive: keep, file: undefined };
  }
  return { status, keepAlive: keep, file: new FileSender(sys, file.fd, start, length) };
}

function head(status: number, fields: Record<string, string>, length: number | undefined, keep: boolean): Uint8Array {
  return encodeLatin1(responseHead(status, length, { keepAlive: keep, fields }));
}

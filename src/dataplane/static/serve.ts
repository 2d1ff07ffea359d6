/**
 * Static files: the head is built in JS, the body goes by sendfile(2) from
 * the file straight to the client socket.
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
import { contentType, resolveUnderRoot } from "./path.ts";
import { etagOf, lastModifiedOf, notModified, rangeOf, type FileFacts } from "./conditional.ts";

/** What the session must do after serveStatic queued the head. */
export interface StaticResult {
  readonly status: number;
  /** The client connection may stay open afterwards. */
  readonly keepAlive: boolean;
  /** The body to send after the head, if any. */
  readonly file: FileSender | undefined;
}

const statBuf = new Uint8Array(256);
const statView = new DataView(statBuf.buffer);

interface OpenFile extends FileFacts {
  readonly fd: number;
  readonly isDir: boolean;
  readonly path: string;
}

const utf8 = new TextEncoder();

function openFile(sys: Sys, path: string): OpenFile | number {
  // UTF-8, as node:fs (realpathSync) encodes the same path: "café.txt" must name the same file.
  const fd = sys.open(utf8.encode(`${path}\0`), C.O_RDONLY | C.O_CLOEXEC, 0);
  if (fd < 0) return fd;
  const r = sys.fstat(fd, statBuf);
  if (r < 0) {
    sys.close(fd);
    return r;
  }
  const L = C.statLayout();
  const mode = statView.getUint32(L.mode, true);
  return {
    fd, path, isDir: (mode & C.S_IFMT) === C.S_IFDIR,
    size: Number(statView.getBigInt64(L.fileSize, true)),
    ino: Number(statView.getBigUint64(L.ino, true) & 0xffffffffn),
    mtimeMs: Number(statView.getBigInt64(L.mtimeSec, true)) * 1000 + Math.floor(Number(statView.getBigInt64(L.mtimeNsec, true)) / 1e6),
  };
}

/** Opens the file for `req` under the route's root, following `index` for directories. */
function locate(sys: Sys, route: RouteInit, target: string): OpenFile | number {
  const resolved = resolveUnderRoot(route.staticRoot!, stripped(route, target));
  if (resolved.kind === "refused") return -resolved.status;
  const file = openFile(sys, resolved.path);
  if (typeof file === "number") return file;
  if (!file.isDir) {
    // "/a.txt/" names a directory: a file there is not found (realpath drops the slash).
    if (!stripped(route, target).split(/[?#]/, 1)[0].endsWith("/")) return file;
    sys.close(file.fd);
    return -404;
  }
  sys.close(file.fd);
  const index = resolveUnderRoot(route.staticRoot!, `${stripped(route, target).split(/[?#]/, 1)[0].replace(/\/?$/, "/")}${route.staticIndex}`);
  if (index.kind === "refused") return -404;
  const indexed = openFile(sys, index.path);
  if (typeof indexed !== "number" && indexed.isDir) {
    sys.close(indexed.fd);
    return -404;
  }
  return indexed;
}

function stripped(route: RouteInit, target: string): string {
  if (!route.stripPrefix || route.path === "/") return target;
  const rest = target.slice(route.path.replace(/\/$/, "").length);
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/** Queues the response head (and small bodies) for a static request; returns what follows. */
export function serveStatic(sys: Sys, route: RouteInit, req: RequestHead, out: Stream): StaticResult {
  const keep = req.keepAlive;
  const headOnly = req.method === "HEAD";
  if (req.method !== "GET" && !headOnly) {
    out.push(plainResponse(405, "method not allowed on a static route", { keepAlive: keep, fields: { Allow: "GET, HEAD" } }));
    return { status: 405, keepAlive: keep && req.framing.kind === "none", file: undefined };
  }
  const file = locate(sys, route, req.target);
  if (typeof file === "number") {
    const status = file === -403 || file === -C.EACCES ? 403 : file === -400 ? 400 : 404;
    out.push(plainResponse(status, status === 404 ? "no such file" : "refused", { keepAlive: keep, headOnly }));
    return { status, keepAlive: keep, file: undefined };
  }
  return respondWithFile(sys, req, file, out);
}

function respondWithFile(sys: Sys, req: RequestHead, file: OpenFile, out: Stream): StaticResult {
  const headers = new Map(req.headers.map(([n, v]) => [n.toLowerCase(), v]));
  const common: Record<string, string> = {
    "Content-Type": contentType(file.path),
    "ETag": etagOf(file), "Last-Modified": lastModifiedOf(file), "Accept-Ranges": "bytes",
  };
  const keep = req.keepAlive;
  if (notModified(headers, file)) {
    sys.close(file.fd);
    out.push(head(304, { ETag: common.ETag, "Last-Modified": common["Last-Modified"] }, undefined, keep));
    return { status: 304, keepAlive: keep, file: undefined };
  }
  const range = rangeOf(headers, file);
  if (range.kind === "unsatisfiable") {
    sys.close(file.fd);
    out.push(plainResponse(416, "range not satisfiable", { keepAlive: keep, headOnly: req.method === "HEAD", fields: { "Content-Range": `bytes */${file.size}` } }));
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

/**
 * Heads as the proxy forwards them: hop-by-hop fields removed (RFC 9110
 * §7.6.1), framing re-stated from the parsed framing (never copied from the
 * input), X-Forwarded-For/-Proto/-Host and Via added, then the route's
 * set/remove edits.
 *
 * The result is a latin1 string: write it with `writeLatin1`/`encodeLatin1`
 * (chars.ts) so that obs-text bytes go out as they came in. Values given in
 * `setHeaders` must be valid (see `isToken`/`isFieldValue`): config
 * validation checks them once, not this per-request code.
 *
 * @module
 */
import type { HttpVersion } from "./head.ts";
import type { RequestHead } from "./request.ts";
import type { ResponseHead } from "./response.ts";
import { STATUS_TEXT } from "./errors.ts";

/** Hop-by-hop fields, lowercased: never forwarded as received. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Fields that `setHeaders`/`removeHeaders` may not touch (they carry
 * framing or connection state), lowercased; edits naming them are ignored.
 * `host` may be set, not removed.
 */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([...HOP_BY_HOP, "content-length"]);

/** Fields a `Connection` option can never remove: dropping them would change the framing or the route. */
const NOT_CONNECTION_OPTIONS: ReadonlySet<string> = new Set(["host", "content-length", "transfer-encoding"]);

/** Options of {@linkcode upstreamRequestHead}. */
export interface UpstreamRequestOptions {
  /** The client's IP address, appended to X-Forwarded-For. */
  clientAddress: string;
  /** The scheme the client used, for X-Forwarded-Proto. */
  proto: "http" | "https";
  /** This proxy's name in Via. */
  viaName: string;
  /** Fields to set (replacing any of the same name), after everything else. */
  setHeaders?: Readonly<Record<string, string>>;
  /** Fields to remove (case-insensitive), after everything else. */
  removeHeaders?: readonly string[];
  /** A path prefix to strip from the target (at a segment boundary). */
  pathPrefixStrip?: string;
  /** Host to send when the request had none (HTTP/1.0); default empty. */
  defaultHost?: string;
  /** Ask the upstream to close after this exchange. */
  close?: boolean;
}

/** Options of {@linkcode clientResponseHead} and {@linkcode clientResponsePlan}. */
export interface ClientResponseOptions {
  /** The version of the client's request. */
  clientVersion: HttpVersion;
  /** The client connection may stay open (usually the request's keepAlive). */
  keepAlive: boolean;
  /** This proxy's name in Via. */
  viaName: string;
  setHeaders?: Readonly<Record<string, string>>;
  removeHeaders?: readonly string[];
  /** Close the client connection after this response whatever else says. */
  forceClose?: boolean;
}

/** How the data plane must send a response to its client. */
export interface ClientResponsePlan {
  /** False for a 1xx (but 101) to an HTTP/1.0 client: drop it (RFC 9110 §15.2). */
  send: boolean;
  /** The client connection stays open after the body. */
  keepAlive: boolean;
  /** Chunked upstream body to an HTTP/1.0 client: strip the chunk lines, send the data, close. */
  dechunk: boolean;
}

/** Serializes a head: start line, fields (minus the route's edits), empty line. */
class HeadWriter {
  private text: string;
  private readonly set: ReadonlySet<string>;
  private readonly remove: ReadonlySet<string>;
  constructor(startLine: string, edits: { setHeaders?: Readonly<Record<string, string>>; removeHeaders?: readonly string[] }) {
    this.text = `${startLine}\r\n`;
    this.set = editedNames(edits.setHeaders);
    this.remove = editedNames(edits.removeHeaders);
  }
  /** Adds a field unless the route's edits replace or remove it. */
  add(name: string, value: string, lowerName: string): void {
    if (!this.set.has(lowerName) && !this.remove.has(lowerName)) this.text += `${name}: ${value}\r\n`;
  }
  /** Appends the route's `setHeaders` and ends the head. */
  finish(set: Readonly<Record<string, string>> | undefined): string {
    for (const name in set) if (!RESERVED_HEADERS.has(name.toLowerCase())) this.text += `${name}: ${set[name]}\r\n`;
    return `${this.text}\r\n`;
  }
}

const NO_NAMES: ReadonlySet<string> = new Set();
const editCache = new WeakMap<object, ReadonlySet<string>>();

/**
 * The lowercased names a `setHeaders` record or `removeHeaders` list edits,
 * minus the reserved ones and `host`'s removal; cached per (route) object.
 */
function editedNames(edits: Readonly<Record<string, string>> | readonly string[] | undefined): ReadonlySet<string> {
  if (edits === undefined) return NO_NAMES;
  let names = editCache.get(edits);
  if (names === undefined) {
    const list = Array.isArray(edits) ? edits : Object.keys(edits);
    const removing = Array.isArray(edits);
    names = new Set(
      list.map((n) => n.toLowerCase()).filter((n) => !RESERVED_HEADERS.has(n) && !(removing && n === "host")),
    );
    editCache.set(edits, names);
  }
  return names;
}

/** The `1.0`/`1.1` of a version, for Via. */
function protocolVersion(version: HttpVersion): string {
  return version.slice(5);
}

/** `existing, added` or `added`. */
function appendList(existing: string | undefined, added: string): string {
  return existing === undefined || existing === "" ? added : `${existing}, ${added}`;
}

/**
 * The target without `prefix` when it starts with it at a segment boundary
 * (`/api` strips `/api`, `/api/x`, `/api?q`, not `/apix`); never empty.
 */
export function stripPathPrefix(target: string, prefix: string | undefined): string {
  const p = prefix?.endsWith("/") ? prefix.slice(0, -1) : prefix;
  if (!p || !target.startsWith(p)) return target;
  const next = target.charCodeAt(p.length);
  if (Number.isNaN(next)) return "/";
  if (next === 0x2f) return target.slice(p.length);
  return next === 0x3f ? `/${target.slice(p.length)}` : target;
}

/** The target to send: origin-form with the prefix stripped, other forms as sent. */
function upstreamTarget(head: RequestHead, prefix: string | undefined): string {
  return head.targetForm === "origin" ? stripPathPrefix(head.target, prefix) : head.target;
}

/** True for a request field the proxy drops or re-states itself. */
function dropsFromRequest(lower: string, listed: readonly string[]): boolean {
  if (HOP_BY_HOP.has(lower) || lower === "content-length") return true;
  return listed.includes(lower) && !NOT_CONNECTION_OPTIONS.has(lower);
}

/** The fields X-Forwarded-For and Via, which the proxy appends to. */
interface Appended {
  forwardedFor: string | undefined;
  via: string | undefined;
}

/** Collects appended-to fields (lines joined with ", "); true when `lower` is one. */
function collect(appended: Appended, lower: string, value: string): boolean {
  if (lower === "x-forwarded-for") appended.forwardedFor = appendList(appended.forwardedFor, value);
  else if (lower === "via") appended.via = appendList(appended.via, value);
  else return lower === "x-forwarded-proto" || lower === "x-forwarded-host";
  return true;
}

/**
 * The head to send upstream for `head`: HTTP/1.1 request line with the target
 * as sent (prefix stripped), end-to-end fields in order, framing re-stated,
 * Upgrade kept for upgrades, X-Forwarded-*, Via, then set/remove.
 */
export function upstreamRequestHead(head: RequestHead, opts: UpstreamRequestOptions): string {
  const out = new HeadWriter(`${head.method} ${upstreamTarget(head, opts.pathPrefixStrip)} HTTP/1.1`, opts);
  const appended: Appended = { forwardedFor: undefined, via: undefined };
  const hasHost = copyRequestFields(out, head, appended);
  if (!hasHost) out.add("Host", head.host ?? opts.defaultHost ?? "", "host");
  addRequestFraming(out, head, opts.close === true);
  out.add("X-Forwarded-For", appendList(appended.forwardedFor, opts.clientAddress), "x-forwarded-for");
  out.add("X-Forwarded-Proto", opts.proto, "x-forwarded-proto");
  if (head.host) out.add("X-Forwarded-Host", head.host, "x-forwarded-host");
  out.add("Via", appendList(appended.via, `${protocolVersion(head.version)} ${opts.viaName}`), "via");
  return out.finish(opts.setHeaders);
}

/** Copies the end-to-end fields; returns whether a Host was among them. */
function copyRequestFields(out: HeadWriter, head: RequestHead, appended: Appended): boolean {
  let hasHost = false;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (dropsFromRequest(lower, head.connectionTokens) || collect(appended, lower, value)) continue;
    if (lower === "host") hasHost = true;
    out.add(name, value, lower);
  }
  return hasHost;
}

/** Content-Length or Transfer-Encoding from the framing; Upgrade and Connection. */
function addRequestFraming(out: HeadWriter, head: RequestHead, close: boolean): void {
  if (head.framing.kind === "length") out.add("Content-Length", String(head.framing.length), "content-length");
  else if (head.framing.kind === "chunked") out.add("Transfer-Encoding", "chunked", "transfer-encoding");
  const upgrade = head.upgrade !== undefined;
  if (upgrade) out.add("Upgrade", head.upgrade!, "upgrade");
  if (upgrade || close) out.add("Connection", upgrade && close ? "upgrade, close" : upgrade ? "upgrade" : "close", "connection");
}

/** Whether and how to send `head` to a client (see {@linkcode ClientResponsePlan}). */
export function clientResponsePlan(
  head: ResponseHead,
  opts: Pick<ClientResponseOptions, "clientVersion" | "keepAlive" | "forceClose">,
): ClientResponsePlan {
  const http10 = opts.clientVersion === "HTTP/1.0";
  const dechunk = http10 && head.framing.kind === "chunked";
  const keepAlive = opts.keepAlive && opts.forceClose !== true && !head.tunnel &&
    head.framing.kind !== "close" && !dechunk;
  return { send: !(http10 && head.status < 200), keepAlive, dechunk };
}

/**
 * The head to send the client for `head`: an HTTP/1.1 status line, end-to-end
 * fields in order, framing re-stated for the client (see
 * {@linkcode clientResponsePlan}), Connection, Via, then set/remove.
 */
export function clientResponseHead(head: ResponseHead, opts: ClientResponseOptions): string {
  const plan = clientResponsePlan(head, opts);
  const reason = head.reason !== "" ? head.reason : STATUS_TEXT[head.status] ?? "";
  const out = new HeadWriter(`HTTP/1.1 ${head.status} ${reason}`, opts);
  const appended: Appended = { forwardedFor: undefined, via: undefined };
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (dropsFromResponse(lower, head.connectionTokens) || collectVia(appended, lower, value)) continue;
    out.add(name, value, lower);
  }
  addResponseFraming(out, head, plan);
  addResponseConnection(out, head, plan, opts.clientVersion);
  out.add("Via", appendList(appended.via, `${protocolVersion(head.version)} ${opts.viaName}`), "via");
  return out.finish(opts.setHeaders);
}

function dropsFromResponse(lower: string, listed: readonly string[]): boolean {
  return HOP_BY_HOP.has(lower) || lower === "content-length" || (listed.includes(lower) && !NOT_CONNECTION_OPTIONS.has(lower));
}

function collectVia(appended: Appended, lower: string, value: string): boolean {
  if (lower !== "via") return false;
  appended.via = appendList(appended.via, value);
  return true;
}

/**
 * Content-Length for length framing, and as received for HEAD and 304 (never
 * for 1xx, 204 and tunnels); Transfer-Encoding: chunked unless de-chunked.
 */
function addResponseFraming(out: HeadWriter, head: ResponseHead, plan: ClientResponsePlan): void {
  const f = head.framing;
  if (f.kind === "chunked" && !plan.dechunk) out.add("Transfer-Encoding", "chunked", "transfer-encoding");
  const mayStateLength = !head.tunnel && head.status >= 200 && head.status !== 204;
  if (mayStateLength && head.contentLength !== undefined && (f.kind === "length" || f.kind === "none")) {
    out.add("Content-Length", String(head.contentLength), "content-length");
  }
}

/**
 * Connection: `upgrade` with an Upgrade offer (HTTP/1.1 clients); for final
 * responses that are no tunnel, `close` when not kept alive, `keep-alive`
 * for a kept HTTP/1.0 client.
 */
function addResponseConnection(out: HeadWriter, head: ResponseHead, plan: ClientResponsePlan, client: HttpVersion): void {
  const options: string[] = [];
  if (head.upgrade !== undefined && client === "HTTP/1.1") {
    out.add("Upgrade", head.upgrade, "upgrade");
    options.push("upgrade");
  }
  if (head.status >= 200 && !head.tunnel) {
    if (!plan.keepAlive) options.push("close");
    else if (client === "HTTP/1.0") options.push("keep-alive");
  }
  if (options.length > 0) out.add("Connection", options.join(", "), "connection");
}

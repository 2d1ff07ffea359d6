/**
 * Heads as the proxy forwards them, written as bytes from a view into the
 * caller's reused output buffer. The output is byte for byte that of
 * `encodeLatin1(upstreamRequestHead(toRequestHead(view, buf), opts))` and
 * `encodeLatin1(clientResponseHead(toResponseHead(view, buf), opts))`
 * (../rewrite.ts): hop-by-hop fields dropped, framing re-stated,
 * X-Forwarded-*, Via, then the route's edits.
 *
 * `out` must not share memory with `buf` where the head is.
 *
 * @module
 */
import { CR, LF, SP } from "../chars.ts";
import { STATUS_TEXT } from "../errors.ts";
import type { HttpVersion } from "../head.ts";
import {
  asciiBytes,
  DROPPED_ID,
  LOWER,
  N_HOST,
  N_OTHER,
  N_UPGRADE,
  N_VIA,
  N_X_FORWARDED_FOR,
  N_X_FORWARDED_HOST,
  N_X_FORWARDED_PROTO,
} from "./names.ts";
import type { CompiledEdits, CompiledRequestOptions, CompiledResponseOptions } from "./options.ts";
import { begin, end, putByte, putBytes, putDecimal, putPair, putSpan } from "./out.ts";
import type { RequestView } from "./request_view.ts";
import type { ResponseView } from "./response_view.ts";
import { BODY_CHUNKED, BODY_CLOSE, BODY_LENGTH, BODY_NONE, F_ID, F_NAME, F_NAME_END, F_VALUE, F_VALUE_END, type HeadView, isListed, STRIDE } from "./view.ts";

const HTTP11_LINE_END = asciiBytes(" HTTP/1.1\r\n");
const HTTP11_SP = asciiBytes("HTTP/1.1 ");
const HOST = asciiBytes("Host: ");
const CONTENT_LENGTH = asciiBytes("Content-Length: ");
const TE_CHUNKED = asciiBytes("Transfer-Encoding: chunked\r\n");
const UPGRADE = asciiBytes("Upgrade: ");
const CONNECTION = asciiBytes("Connection: ");
const UPGRADE_TOKEN = asciiBytes("upgrade");
const CLOSE_TOKEN = asciiBytes("close");
const KEEP_ALIVE_TOKEN = asciiBytes("keep-alive");
const XFF = asciiBytes("X-Forwarded-For: ");
const XFP = asciiBytes("X-Forwarded-Proto: ");
const XFH = asciiBytes("X-Forwarded-Host: ");
const VIA = asciiBytes("Via: ");
const COMMA = 0x2c;

/** `STATUS_TEXT` as bytes, by status. */
const STATUS_BYTES: Array<Uint8Array | undefined> = (() => {
  const t: Array<Uint8Array | undefined> = new Array(600).fill(undefined);
  for (const [code, text] of Object.entries(STATUS_TEXT)) t[Number(code)] = asciiBytes(text);
  return t;
})();

/** Send the response to the client (else drop it: a 1xx to an HTTP/1.0 client). */
export const PLAN_SEND = 1;
/** The client connection stays open after the body. */
export const PLAN_KEEP_ALIVE = 2;
/** Chunked upstream body to an HTTP/1.0 client: strip the chunk lines, send the data, close. */
export const PLAN_DECHUNK = 4;

/** `clientResponsePlan` of ../rewrite.ts as `PLAN_*` bits (no allocation). */
export function responsePlan(v: ResponseView, clientVersion: HttpVersion, keepAlive: boolean, forceClose = false): number {
  const http10 = clientVersion === "HTTP/1.0";
  const dechunk = http10 && v.body === BODY_CHUNKED;
  const keep = keepAlive && !forceClose && !v.tunnel && v.body !== BODY_CLOSE && !dechunk;
  return (http10 && v.status < 200 ? 0 : PLAN_SEND) | (keep ? PLAN_KEEP_ALIVE : 0) | (dechunk ? PLAN_DECHUNK : 0);
}

/** True when the route's edits replace or remove the field at slot `at`. */
function edited(e: CompiledEdits, f: Int32Array, at: number, buf: Uint8Array): boolean {
  const id = f[at + F_ID];
  if (id !== N_OTHER) return e.suppressedId[id] === 1;
  const names = e.otherNames;
  if (names.length === 0) return false;
  const s = f[at + F_NAME], n = f[at + F_NAME_END] - s;
  for (let i = 0; i < names.length; i++) {
    const want = names[i];
    if (want.length === n && sameLower(buf, s, want)) return true;
  }
  return false;
}

function sameLower(buf: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (LOWER[buf[at + i]] !== want[i]) return false;
  return true;
}

/** True for a field the proxy never copies: hop-by-hop, Content-Length, or named by Connection (Host excepted). */
function dropped(v: HeadView, f: Int32Array, at: number, buf: Uint8Array): boolean {
  const id = f[at + F_ID];
  if (DROPPED_ID[id] === 1) return true;
  return v.tokenCount > 0 && id !== N_HOST && isListed(v, buf, f[at + F_NAME], f[at + F_NAME_END]);
}

/** True when the field line at slot `at` is already `Name: value\r\n` (one SP, no trailing OWS). */
function canonical(buf: Uint8Array, f: Int32Array, at: number): boolean {
  const ne = f[at + F_NAME_END];
  return f[at + F_VALUE] === ne + 2 && buf[ne + 1] === SP && buf[f[at + F_VALUE_END]] === CR;
}

/** `Name: value\r\n` from the spans (OWS normalized). */
function putField(buf: Uint8Array, f: Int32Array, at: number): void {
  putSpan(buf, f[at + F_NAME], f[at + F_NAME_END] + 1);
  putByte(SP);
  putSpan(buf, f[at + F_VALUE], f[at + F_VALUE_END]);
  putPair(CR, LF);
}

/**
 * Copies the end-to-end fields in order: canonical lines that follow each
 * other in the input go out as one span. `request` selects the request rules
 * (X-Forwarded-* and Via re-stated later) or the response ones (Via).
 * Returns whether a Host was among the fields.
 */
function copyFields(v: HeadView, buf: Uint8Array, e: CompiledEdits, request: boolean): boolean {
  const f = v.fields;
  let hasHost = false, runStart = -1, runEnd = -1;
  for (let i = 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    if (dropped(v, f, at, buf) || restated(f[at + F_ID], request)) continue;
    if (f[at + F_ID] === N_HOST) hasHost = true;
    if (edited(e, f, at, buf)) continue;
    if (!canonical(buf, f, at)) {
      if (runStart >= 0) putSpan(buf, runStart, runEnd);
      runStart = -1;
      putField(buf, f, at);
      continue;
    }
    const start = f[at + F_NAME], end = f[at + F_VALUE_END] + 2;
    if (start !== runEnd || runStart < 0) {
      if (runStart >= 0) putSpan(buf, runStart, runEnd);
      runStart = start;
    }
    runEnd = end;
  }
  if (runStart >= 0) putSpan(buf, runStart, runEnd);
  return hasHost;
}

/** Fields the proxy writes itself after the copied ones. */
function restated(id: number, request: boolean): boolean {
  if (id === N_VIA) return true;
  return request && (id === N_X_FORWARDED_FOR || id === N_X_FORWARDED_PROTO || id === N_X_FORWARDED_HOST);
}

/** The values of the fields with id `id`, each after `, ` but when nothing is written yet (`appendList`); returns whether any byte was. */
function putAppended(v: HeadView, buf: Uint8Array, id: number, wrote: boolean): boolean {
  if (v.idCount[id] === 0) return wrote;
  const f = v.fields;
  for (let i = 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    if (f[at + F_ID] !== id || dropped(v, f, at, buf)) continue;
    const s = f[at + F_VALUE], e = f[at + F_VALUE_END];
    if (wrote) putPair(COMMA, SP);
    putSpan(buf, s, e);
    wrote ||= e > s;
  }
  return wrote;
}

/** `label` + appended values + `, added` (or `added` alone) + CRLF. */
function putList(v: HeadView, buf: Uint8Array, id: number, label: Uint8Array, added: Uint8Array): void {
  putBytes(label);
  if (putAppended(v, buf, id, false)) putPair(COMMA, SP);
  putBytes(added);
  putPair(CR, LF);
}

/** `Upgrade: ` + the Upgrade lines joined with ", " + CRLF. */
function putUpgrade(v: HeadView, buf: Uint8Array): void {
  putBytes(UPGRADE);
  const f = v.fields;
  let first = true;
  for (let i = 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    if (f[at + F_ID] !== N_UPGRADE) continue;
    if (!first) putPair(COMMA, SP);
    putSpan(buf, f[at + F_VALUE], f[at + F_VALUE_END]);
    first = false;
  }
  putPair(CR, LF);
}

/** `Connection: ` + up to two options + CRLF. */
function putConnection(a: Uint8Array, b: Uint8Array | null): void {
  putBytes(CONNECTION);
  putBytes(a);
  if (b !== null) {
    putPair(COMMA, SP);
    putBytes(b);
  }
  putPair(CR, LF);
}

/** The target to send: origin-form with the prefix stripped at a segment boundary (`stripPathPrefix`). */
function putTarget(v: RequestView, buf: Uint8Array, prefix: Uint8Array | null): void {
  const s = v.targetStart, e = v.targetEnd;
  if (prefix === null || v.targetForm !== "origin" || e - s < prefix.length || !startsWith(buf, s, prefix)) return putSpan(buf, s, e);
  const next = s + prefix.length;
  if (next === e) return putByte(0x2f);
  if (buf[next] === 0x2f) return putSpan(buf, next, e);
  if (buf[next] === 0x3f) {
    putByte(0x2f);
    return putSpan(buf, next, e);
  }
  putSpan(buf, s, e);
}

function startsWith(buf: Uint8Array, at: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (buf[at + i] !== want[i]) return false;
  return true;
}

/**
 * Writes the head to send upstream for the request in `view` (parsed from
 * `buf`) into `out` at `outAt`; returns the offset after it, or -1 when
 * `out` is too small (grow it and call again). `close` asks the upstream to
 * close after this exchange.
 */
export function writeUpstreamRequest(
  v: RequestView,
  buf: Uint8Array,
  out: Uint8Array,
  outAt: number,
  o: CompiledRequestOptions,
  close = false,
): number {
  begin(out, outAt);
  putSpan(buf, v.methodStart, v.methodEnd);
  putByte(SP);
  putTarget(v, buf, o.prefix);
  putBytes(HTTP11_LINE_END);
  const e = o.edits, sup = e.suppressedId;
  if (!copyFields(v, buf, e, true) && sup[N_HOST] !== 1) putHost(v, buf, o);
  if (v.body === BODY_LENGTH) putContentLength(v.contentLength);
  else if (v.body === BODY_CHUNKED) putBytes(TE_CHUNKED);
  const upgrade = v.upgrade !== undefined;
  if (upgrade) putUpgrade(v, buf);
  if (upgrade || close) putConnection(upgrade ? UPGRADE_TOKEN : CLOSE_TOKEN, upgrade && close ? CLOSE_TOKEN : null);
  if (sup[N_X_FORWARDED_FOR] !== 1) putList(v, buf, N_X_FORWARDED_FOR, XFF, o.clientAddress);
  if (sup[N_X_FORWARDED_PROTO] !== 1) putLine(XFP, o.proto);
  if (v.hostEnd > v.hostStart && sup[N_X_FORWARDED_HOST] !== 1) {
    putBytes(XFH);
    putSpan(buf, v.hostStart, v.hostEnd);
    putPair(CR, LF);
  }
  if (sup[N_VIA] !== 1) putList(v, buf, N_VIA, VIA, v.version === "HTTP/1.1" ? o.via11 : o.via10);
  putBytes(e.setLines);
  putPair(CR, LF);
  return end();
}

/** Host for a request that had none: the target's authority, else the default. */
function putHost(v: RequestView, buf: Uint8Array, o: CompiledRequestOptions): void {
  putBytes(HOST);
  if (v.hostStart >= 0) putSpan(buf, v.hostStart, v.hostEnd);
  else putBytes(o.defaultHost);
  putPair(CR, LF);
}

function putContentLength(n: number): void {
  putBytes(CONTENT_LENGTH);
  putDecimal(n);
  putPair(CR, LF);
}

function putLine(label: Uint8Array, value: Uint8Array): void {
  putBytes(label);
  putBytes(value);
  putPair(CR, LF);
}

/**
 * Writes the head to send the client for the response in `view` into `out`
 * at `outAt`; returns the offset after it, or -1 when `out` is too small.
 * `clientVersion`, `keepAlive` and `forceClose` are those of
 * `ClientResponseOptions` (the request's version and keep-alive; the proxy
 * draining).
 */
export function writeClientResponse(
  v: ResponseView,
  buf: Uint8Array,
  out: Uint8Array,
  outAt: number,
  o: CompiledResponseOptions,
  clientVersion: HttpVersion,
  keepAlive: boolean,
  forceClose = false,
): number {
  const plan = responsePlan(v, clientVersion, keepAlive, forceClose);
  begin(out, outAt);
  putStatusLine(v, buf);
  const e = o.edits;
  copyFields(v, buf, e, false);
  putResponseFraming(v, plan);
  putResponseConnection(v, buf, plan, clientVersion === "HTTP/1.1");
  if (e.suppressedId[N_VIA] !== 1) putList(v, buf, N_VIA, VIA, v.version === "HTTP/1.1" ? o.via11 : o.via10);
  putBytes(e.setLines);
  putPair(CR, LF);
  return end();
}

/** `HTTP/1.1 NNN reason`: the reason as received, else the status text. */
function putStatusLine(v: ResponseView, buf: Uint8Array): void {
  putBytes(HTTP11_SP);
  putDecimal(v.status);
  putByte(SP);
  if (v.reasonEnd > v.reasonStart) putSpan(buf, v.reasonStart, v.reasonEnd);
  else {
    const text = STATUS_BYTES[v.status];
    if (text !== undefined) putBytes(text);
  }
  putPair(CR, LF);
}

/** Transfer-Encoding unless de-chunked; Content-Length for length framing and for HEAD and 304. */
function putResponseFraming(v: ResponseView, plan: number): void {
  if (v.body === BODY_CHUNKED && (plan & PLAN_DECHUNK) === 0) putBytes(TE_CHUNKED);
  const mayStateLength = !v.tunnel && v.status >= 200 && v.status !== 204;
  if (mayStateLength && v.contentLength >= 0 && (v.body === BODY_LENGTH || v.body === BODY_NONE)) putContentLength(v.contentLength);
}

/** Upgrade and Connection as `addResponseConnection` of ../rewrite.ts. */
function putResponseConnection(v: ResponseView, buf: Uint8Array, plan: number, client11: boolean): void {
  const upgrade = v.upgrade !== undefined && client11;
  if (upgrade) putUpgrade(v, buf);
  let option: Uint8Array | null = null;
  if (v.status >= 200 && !v.tunnel) {
    if ((plan & PLAN_KEEP_ALIVE) === 0) option = CLOSE_TOKEN;
    else if (!client11) option = KEEP_ALIVE_TOKEN;
  }
  if (upgrade) putConnection(UPGRADE_TOKEN, option);
  else if (option !== null) putConnection(option, null);
}

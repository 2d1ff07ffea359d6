/**
 * Request heads on bytes: {@linkcode parseRequestInto} validates with the
 * same pass-1 scanner as `parseRequestHead` (../request.ts) and then records
 * spans into a reused {@linkcode RequestView} instead of decoding the head.
 *
 * On the steady keep-alive path it allocates nothing: the common methods are
 * interned, and the target and Host strings are reused while their bytes
 * equal the previous request's on the same view.
 *
 * ```ts
 * const view = new RequestView(); // one per connection
 * const n = parseRequestInto(view, buf, start, end, limits, scan);
 * if (n > 0) { route(view.host, view.target); writeUpstreamRequest(view, buf, out, 0, opts); consume(n); }
 * else if (n < 0) answer(view.errorStatus, view.errorReason);
 * ```
 *
 * @module
 */
import { CR, decodeLatin1, SP } from "../chars.ts";
import { isValidHost, quote } from "../fields.ts";
import {
  CHUNKED,
  DEFAULT_LIMITS,
  fail,
  type Framing,
  type HeadError,
  type HeadLimits,
  type HeadScan,
  isError,
  M_START,
  NEED_MORE,
  NO_BODY,
  ranOut,
  scanState,
} from "../head.ts";
import { authorityOf, checkTarget, type RequestHead, scanRequest, type TargetForm } from "../request.ts";
import { BAIL, fastFields, fastRequestLine } from "./scan.ts";
import { asciiBytes, equalsLower, internedMethod, N_EXPECT, N_HOST, N_UPGRADE, sameString } from "./names.ts";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  decodedFields,
  decodedTokens,
  F_ID,
  F_VALUE,
  F_VALUE_END,
  HeadView,
  joinedUpgrade,
  keepAliveOf,
  recordFields,
  setError,
  STRIDE,
  viewConnection,
  viewFraming,
} from "./view.ts";

/** A parsed request head as spans into the input buffer, plus the few decoded facts routing needs. */
export class RequestView extends HeadView {
  /** The method, case as sent (interned for the common ones). */
  method = "GET";
  /** Span of the method in the buffer. */
  methodStart = 0;
  /** End of the method span. */
  methodEnd = 0;
  /** The request target as sent (reused while its bytes do not change). */
  target = "/";
  /** Span of the target in the buffer. */
  targetStart = 0;
  /** End of the target span. */
  targetEnd = 0;
  /** The target's form (RFC 9112 §3.2). */
  targetForm: TargetForm = "origin";
  /** Host as `RequestHead.host` has it (reused while its bytes do not change). */
  host: string | undefined = undefined;
  /** Span of `host` in the buffer (a Host value, or the authority of an absolute-form target); -1 without. */
  hostStart = -1;
  /** End of the host span. */
  hostEnd = -1;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  expectContinue = false;
  /** The last Host string that passed validation (skips the check when it repeats). */
  hostChecked: string | undefined = undefined;
}

/**
 * Parses the request head at `buf[start, end)` into `view`: the head length
 * (> 0) when complete, 0 when more bytes are needed (call again with the same
 * `scan` and `start`), -1 on error with `view.errorStatus`/`errorReason` set
 * (the statuses of `parseRequestHead`). The view's spans point into `buf`.
 */
export function parseRequestInto(
  view: RequestView,
  buf: Uint8Array,
  start: number,
  end: number,
  limits: HeadLimits = DEFAULT_LIMITS,
  scan?: HeadScan,
): number {
  const limitEnd = start + limits.maxHeadBytes;
  const stop = Math.min(end, limitEnd);
  const s = scanState(scan);
  if (s.mode === M_START && s.pos === 0) {
    const fast = fastRequest(view, buf, start, stop, limits);
    if (fast !== BAIL) {
      view.length = 0;
      if (!requestRules(view, buf)) return -1;
      view.length = fast - start;
      return view.length;
    }
  }
  const headEnd = scanRequest(buf, start, stop, limits, s);
  if (headEnd === NEED_MORE) {
    const r = ranOut(stop, limitEnd, limits.maxHeadBytes);
    if (!isError(r)) return 0;
    s.reset();
    return failed(view, r);
  }
  s.reset();
  if (isError(headEnd)) return failed(view, headEnd);
  view.length = 0;
  if (!readRequest(view, buf, start, limits.maxHeaders)) return -1;
  view.length = headEnd - start;
  return view.length;
}

function failed(view: HeadView, e: HeadError): number {
  setError(view, e);
  view.length = 0;
  return -1;
}

/** Pass 2 on bytes: the request line's spans, the fields, then the rules of `requestSemantics`. */
function readRequest(v: RequestView, buf: Uint8Array, start: number, maxFields: number): boolean {
  let p = start;
  while (buf[p] === CR) p += 2;
  v.methodStart = p;
  while (buf[p] !== SP) p++;
  v.methodEnd = p;
  v.targetStart = ++p;
  while (buf[p] !== SP) p++;
  v.targetEnd = p;
  v.version = buf[p + 8] === 0x31 ? "HTTP/1.1" : "HTTP/1.0";
  recordFields(v, buf, p + 11, maxFields);
  return requestRules(v, buf);
}

/** Pass 1 and 2 in one walk (./scan.ts): the end of the head, or BAIL for the exact scanners. */
function fastRequest(v: RequestView, buf: Uint8Array, start: number, stop: number, limits: HeadLimits): number {
  const fields = fastRequestLine(v, buf, start, stop, limits.maxTargetBytes);
  if (fields === BAIL) return BAIL;
  v.version = buf[v.targetEnd + 8] === 0x31 ? "HTTP/1.1" : "HTTP/1.0";
  return fastFields(v, buf, fields, stop, limits.maxHeaders);
}

/** The rules of `requestSemantics` on the recorded spans. */
function requestRules(v: RequestView, buf: Uint8Array): boolean {
  v.method = methodOf(v, buf);
  if (!sameString(v.target, buf, v.targetStart, v.targetEnd)) v.target = decodeLatin1(buf, v.targetStart, v.targetEnd);
  return checkHost(v, buf) && checkForm(v, buf) && viewFraming(v, buf, v.version) && viewConnection(v, buf) &&
    requestFacts(v, buf);
}

function methodOf(v: RequestView, buf: Uint8Array): string {
  const interned = internedMethod(buf, v.methodStart, v.methodEnd);
  if (interned !== undefined) return interned;
  return sameString(v.method, buf, v.methodStart, v.methodEnd) ? v.method : decodeLatin1(buf, v.methodStart, v.methodEnd);
}

/** Exactly one valid Host in HTTP/1.1, at most one in HTTP/1.0 (`checkHost` of ../request.ts). */
function checkHost(v: RequestView, buf: Uint8Array): boolean {
  const count = v.idCount[N_HOST];
  v.hostStart = v.hostEnd = -1;
  if (count > 1) return setError(v, fail(400, "more than one Host"));
  if (count === 0) {
    v.host = undefined;
    return v.version === "HTTP/1.1" ? setError(v, fail(400, "missing Host")) : true;
  }
  const at = v.idLast[N_HOST] * STRIDE;
  const s = v.fields[at + F_VALUE], e = v.fields[at + F_VALUE_END];
  if (!sameString(v.host, buf, s, e)) v.host = decodeLatin1(buf, s, e);
  v.hostStart = s;
  v.hostEnd = e;
  const host = v.host!;
  if (host === v.hostChecked) return true;
  if (!isValidHost(host)) return setError(v, fail(400, `invalid Host ${quote(host)}`));
  v.hostChecked = host;
  return true;
}

/** origin-form on the bytes; the other forms by `checkTarget` of ../request.ts. */
function checkForm(v: RequestView, buf: Uint8Array): boolean {
  if (buf[v.targetStart] === 0x2f && v.method !== "CONNECT") {
    v.targetForm = "origin";
    return true;
  }
  const form = checkTarget(v.method, v.target, v.host);
  if (isError(form)) return setError(v, form);
  v.targetForm = form;
  return true;
}

const CONTINUE_BYTES = asciiBytes("100-continue");

/** keepAlive, upgrade, expectContinue, and Host from an absolute-form target. */
function requestFacts(v: RequestView, buf: Uint8Array): boolean {
  const http11 = v.version === "HTTP/1.1";
  v.keepAlive = keepAliveOf(v);
  v.upgrade = http11 && v.connUpgrade && v.idCount[N_UPGRADE] > 0 ? joinedUpgrade(v, buf) : undefined;
  v.expectContinue = http11 && v.idCount[N_EXPECT] > 0 && listsElement(v, buf, N_EXPECT, CONTINUE_BYTES);
  if (v.hostStart < 0 && v.targetForm === "absolute") authorityHost(v);
  return true;
}

/** The Host of an HTTP/1.0 absolute-form request without one: the target's authority. */
function authorityHost(v: RequestView): void {
  const authority = authorityOf(v.target);
  if (authority === undefined) return;
  v.host = authority;
  v.hostStart = v.targetStart + v.target.indexOf("://") + 3;
  v.hostEnd = v.hostStart + authority.length;
}

/** True when a list element of a field with id `id` is `want` (lowercase), ignoring case and OWS. */
function listsElement(v: RequestView, buf: Uint8Array, id: number, want: Uint8Array): boolean {
  const f = v.fields;
  for (let i = 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    if (f[at + F_ID] !== id) continue;
    const end = f[at + F_VALUE_END];
    for (let p = f[at + F_VALUE]; p <= end;) {
      let q = p;
      while (q < end && buf[q] !== 0x2c) q++;
      let s = p, e = q;
      while (s < e && (buf[s] === SP || buf[s] === 0x09)) s++;
      while (e > s && (buf[e - 1] === SP || buf[e - 1] === 0x09)) e--;
      if (e - s === want.length && equalsLower(buf, s, want)) return true;
      p = q + 1;
    }
  }
  return false;
}

/** The framing of a view as `../head.ts` `Framing`. */
export function framingOf(v: HeadView): Framing {
  if (v.body === BODY_LENGTH) return { kind: "length", length: v.contentLength };
  return v.body === BODY_CHUNKED ? CHUNKED : NO_BODY;
}

/** Today's `RequestHead` from a parsed view (for tests and slow paths; allocates). */
export function toRequestHead(v: RequestView, buf: Uint8Array): RequestHead {
  return {
    method: v.method,
    target: v.target,
    targetForm: v.targetForm,
    version: v.version,
    headers: decodedFields(v, buf),
    host: v.host,
    framing: framingOf(v),
    keepAlive: v.keepAlive,
    upgrade: v.upgrade,
    expectContinue: v.expectContinue,
    connectionTokens: decodedTokens(v, buf),
  };
}

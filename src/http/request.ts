/**
 * Strict HTTP/1.1 request head parser (RFC 9110, RFC 9112).
 *
 * ```ts
 * const r = parseRequestHead(buf, 0, filled);
 * if (r.kind === "ok") route(r.head), consume(r.length);
 * else if (r.kind === "error") send(errorResponse(r.status, r.reason)), close();
 * // "incomplete": read more into buf[filled..] and call again from the same start
 * ```
 *
 * Anything ambiguous is an error, never guessed at: a proxy that forwards a
 * message its upstream may frame differently enables request smuggling.
 *
 * @module
 */
import { CR, decodeLatin1, LF, SP, TCHAR } from "./chars.ts";
import {
  connectionTokens,
  type FieldFacts,
  gatherFacts,
  isAuthorityForm,
  isKeepAlive,
  isValidHost,
  listElements,
  messageFraming,
  quote,
  upgradeOf,
} from "./fields.ts";
import {
  DEFAULT_LIMITS,
  fail,
  type Field,
  type HeadScan,
  type Framing,
  type HeadError,
  type HeadLimits,
  type HeadResult,
  type HttpVersion,
  isError,
  M_LINE,
  M_START,
  NEED_MORE,
  ranOut,
  save,
  scanCRLF,
  scanFields,
  scanLineEnd,
  scanState,
  scanVersionName,
  splitFields,
  versionAt,
} from "./head.ts";

/** The four request-target forms of RFC 9112 §3.2. */
export type TargetForm = "origin" | "absolute" | "authority" | "asterisk";

/** A parsed, validated request head. */
export interface RequestHead {
  /** The method token, case as sent (methods are case-sensitive). */
  method: string;
  /** The request target exactly as sent. */
  target: string;
  targetForm: TargetForm;
  version: HttpVersion;
  /** Every field line in original case and order, values without surrounding OWS. */
  headers: Field[];
  /**
   * The Host value; for an HTTP/1.0 request without Host, the authority of an
   * absolute-form target, else undefined.
   */
  host: string | undefined;
  framing: Framing;
  keepAlive: boolean;
  /** The Upgrade value when Connection lists `upgrade` (HTTP/1.1 only). */
  upgrade: string | undefined;
  /** `Expect: 100-continue` on an HTTP/1.1 request. */
  expectContinue: boolean;
  /** The options listed by Connection, lowercased. */
  connectionTokens: string[];
}

/**
 * Parses the request head at `buf[start, end)`. "ok" gives the head and its
 * length (leading empty lines and the final CRLFCRLF included); "error" gives
 * the status to answer: 400 malformed, 414 target over `maxTargetBytes`, 431
 * head over `maxHeadBytes` or `maxHeaders`, 501 unsupported coding, 505 version.
 * Pass the connection's {@linkcode HeadScan} to resume where the last
 * "incomplete" stopped (the bytes before the old `end` must be unchanged).
 */
export function parseRequestHead(
  buf: Uint8Array,
  start: number,
  end: number,
  limits: HeadLimits = DEFAULT_LIMITS,
  scan?: HeadScan,
): HeadResult<RequestHead> {
  const limitEnd = start + limits.maxHeadBytes;
  const stop = Math.min(end, limitEnd);
  const s = scanState(scan);
  const headEnd = scanRequest(buf, start, stop, limits, s);
  if (headEnd === NEED_MORE) {
    const r = ranOut(stop, limitEnd, limits.maxHeadBytes);
    if (isError(r)) s.reset();
    return r;
  }
  s.reset();
  if (isError(headEnd)) return headEnd;
  const head = buildRequest(decodeLatin1(buf, start, headEnd));
  return isError(head) ? head : { kind: "ok", head, length: headEnd - start };
}

/** Request-line scan modes (see {@linkcode HeadScan}). */
const M_LEAD = 10;
const M_METHOD = 11;
const M_TARGET = 12;
const M_VERSION = 13;

/** Pass 1: validates the bytes from where `s` stopped; returns the end of the head. */
export function scanRequest(buf: Uint8Array, start: number, stop: number, limits: HeadLimits, s: HeadScan): number | HeadError {
  let p = start + s.pos;
  if (s.mode === M_START) s.mode = M_LEAD;
  while (s.mode >= M_LEAD) {
    const next = scanRequestLineStep(buf, start, p, stop, limits.maxTargetBytes, s);
    if (next === NEED_MORE || isError(next)) return next;
    p = next;
  }
  return scanFields(buf, start, p, stop, limits.maxHeaders, s);
}

/** One element of `*CRLF method SP request-target SP HTTP-version CRLF`. */
function scanRequestLineStep(
  buf: Uint8Array,
  start: number,
  p: number,
  stop: number,
  maxTarget: number,
  s: HeadScan,
): number | HeadError {
  switch (s.mode) {
    case M_LEAD:
      return scanLeadingLines(buf, start, p, stop, s);
    case M_METHOD:
      return scanMethod(buf, start, p, stop, s);
    case M_TARGET:
      return scanTarget(buf, start, p, stop, maxTarget, s);
    default:
      return scanRequestVersion(buf, start, stop, s);
  }
}

/** Empty lines before the request line are skipped (RFC 9112 §2.2). */
function scanLeadingLines(buf: Uint8Array, start: number, p: number, stop: number, s: HeadScan): number | HeadError {
  if (p < stop && buf[p] === CR) {
    const next = scanCRLF(buf, p, stop, "bare CR before the request line");
    return next === NEED_MORE ? save(s, start, p) : next;
  }
  if (p >= stop) return save(s, start, p);
  s.mode = M_METHOD;
  s.mark = p - start;
  return p;
}

/** tchar+ then SP. */
function scanMethod(buf: Uint8Array, start: number, p: number, stop: number, s: HeadScan): number | HeadError {
  const from = start + s.mark;
  while (p < stop && TCHAR[buf[p]] === 1) p++;
  if (p === stop) return save(s, start, p);
  const b = buf[p];
  if (b === SP && p > from) {
    s.mode = M_TARGET;
    s.mark = p + 1 - start;
    return p + 1;
  }
  if (b === LF) return fail(400, "bare LF line ending");
  if (p === from) return fail(400, "request line does not start with a method");
  return fail(400, b === CR ? "request line without a target" : "invalid byte in method");
}

/** Visible ASCII but `#`, then SP; 414 as soon as it passes `maxTarget`. */
function scanTarget(buf: Uint8Array, start: number, p: number, stop: number, maxTarget: number, s: HeadScan): number | HeadError {
  const from = start + s.mark;
  for (; p < stop; p++) {
    const b = buf[p];
    if (b === SP) return targetEnd(start, from, p, s);
    if (b === 0x23) return fail(400, "fragment (#) in request target");
    if (b < 0x21 || b > 0x7e) return badTargetByte(b);
    if (p - from >= maxTarget) return fail(414, `request target longer than ${maxTarget} bytes`);
  }
  return save(s, start, p);
}

function targetEnd(start: number, from: number, p: number, s: HeadScan): number | HeadError {
  if (p === from) return fail(400, "empty request target or double space");
  s.mode = M_VERSION;
  s.mark = p + 1 - start;
  return p + 1;
}

function badTargetByte(b: number): HeadError {
  if (b === CR || b === LF) return fail(400, "request line without an HTTP version");
  return fail(400, `invalid byte 0x${b.toString(16).padStart(2, "0")} in request target`);
}

/** `HTTP/1.x CRLF` (re-read from its start: 10 bytes): 505 for a well-formed other version. */
function scanRequestVersion(buf: Uint8Array, start: number, stop: number, s: HeadScan): number | HeadError {
  const at = start + s.mark;
  const q = scanVersionName(buf, at, stop);
  const next = q === NEED_MORE || isError(q) ? q : scanLineEnd(buf, q, stop, "bytes after the HTTP version");
  if (next === NEED_MORE) return save(s, start, at);
  if (isError(next)) return next;
  if (versionAt(buf, at) === undefined) return fail(505, "HTTP version not supported");
  s.mode = M_LINE;
  return next;
}

/** Pass 2: slices the valid head string and applies the field rules. */
function buildRequest(s: string): RequestHead | HeadError {
  let p = 0;
  while (s.startsWith("\r\n", p)) p += 2;
  const eol = s.indexOf("\r\n", p);
  const sp1 = s.indexOf(" ", p);
  const sp2 = s.indexOf(" ", sp1 + 1);
  const method = s.slice(p, sp1);
  const target = s.slice(sp1 + 1, sp2);
  const version = s.slice(sp2 + 1, eol) as HttpVersion;
  return requestSemantics(method, target, version, splitFields(s, eol + 2));
}

function requestSemantics(method: string, target: string, version: HttpVersion, headers: Field[]): RequestHead | HeadError {
  const facts = gatherFacts(headers);
  const hostError = checkHost(facts, version);
  if (hostError !== undefined) return hostError;
  const targetForm = checkTarget(method, target, facts.host);
  if (isError(targetForm)) return targetForm;
  const framing = messageFraming(facts, version);
  if (isError(framing)) return framing;
  const tokens = connectionTokens(facts.connection);
  if (isError(tokens)) return tokens;
  const http11 = version === "HTTP/1.1";
  return {
    method,
    target,
    targetForm,
    version,
    headers,
    host: facts.host ?? (targetForm === "absolute" ? authorityOf(target) : undefined),
    framing,
    keepAlive: isKeepAlive(version, tokens),
    upgrade: http11 ? upgradeOf(facts, tokens) : undefined,
    expectContinue: http11 && facts.expect !== undefined && listElements(facts.expect).includes("100-continue"),
    connectionTokens: tokens,
  };
}

/** Exactly one valid Host in HTTP/1.1, at most one in HTTP/1.0 (RFC 9110 §7.2). */
function checkHost(facts: FieldFacts, version: HttpVersion): HeadError | undefined {
  if (facts.hostCount > 1) return fail(400, "more than one Host");
  if (facts.hostCount === 0) return version === "HTTP/1.1" ? fail(400, "missing Host") : undefined;
  return isValidHost(facts.host!) ? undefined : fail(400, `invalid Host ${quote(facts.host!)}`);
}

/** absolute-form `http(s)://authority[/path][?query]`; userinfo refused (RFC 9110 §4.2.4). */
const ABSOLUTE = /^(https?):\/\/([^/?@]*)(?:[/?].*)?$/i;

/** The target's form; CONNECT needs authority-form, `*` only with OPTIONS. */
export function checkTarget(method: string, target: string, host: string | undefined): TargetForm | HeadError {
  if (method === "CONNECT") return isAuthorityForm(target) ? "authority" : fail(400, "CONNECT target is not host:port");
  if (target.charCodeAt(0) === 0x2f) return "origin";
  if (target === "*") return method === "OPTIONS" ? "asterisk" : fail(400, "* target outside OPTIONS");
  const m = ABSOLUTE.exec(target);
  if (m === null) return fail(400, `invalid request target ${quote(target)}`);
  return checkAbsoluteAuthority(m[1].toLowerCase(), m[2], host);
}

/** The authority of an absolute-form target. */
export function authorityOf(target: string): string | undefined {
  return ABSOLUTE.exec(target)?.[2];
}

/** The authority of an absolute-form target must be valid and match Host. */
function checkAbsoluteAuthority(scheme: string, authority: string, host: string | undefined): TargetForm | HeadError {
  if (!isValidHost(authority) || authority.startsWith(":") || authority === "") {
    return fail(400, `invalid authority ${quote(authority)} in request target`);
  }
  if (host !== undefined && hostKey(host, scheme) !== hostKey(authority, scheme)) {
    return fail(400, "Host does not match the authority of the request target");
  }
  return "absolute";
}

/** Lowercased authority without the scheme's default (or an empty) port. */
function hostKey(authority: string, scheme: string): string {
  const a = authority.toLowerCase();
  const port = scheme === "https" ? ":443" : ":80";
  if (a.endsWith(port)) return a.slice(0, -port.length);
  return a.endsWith(":") ? a.slice(0, -1) : a;
}

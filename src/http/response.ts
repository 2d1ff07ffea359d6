/**
 * Strict HTTP/1.1 response head parser, for heads that upstreams send.
 *
 * The rules are those of requests (see `request.ts`); every error is a 502,
 * the status the proxy answers its client with.
 *
 * @module
 */
import { CR, decodeLatin1, FIELD_BYTE, isDigit, LF, SP } from "./chars.ts";
import { connectionTokens, gatherFacts, isKeepAlive, messageFraming, upgradeOf } from "./fields.ts";
import {
  fail,
  type Field,
  type Framing,
  type HeadError,
  type HeadScan,
  type HeadLimits,
  type HeadResult,
  type HttpVersion,
  isError,
  M_LINE,
  M_START,
  NEED_MORE,
  NO_BODY,
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

/** Response body framing: as for requests, or "read until the upstream closes". */
export type ResponseFraming = Framing | { kind: "close" };

/** A parsed, validated response head. */
export interface ResponseHead {
  version: HttpVersion;
  /** 100..599. */
  status: number;
  /** The reason phrase as sent, possibly empty. */
  reason: string;
  /** Every field line in original case and order, values without surrounding OWS. */
  headers: Field[];
  /** `none` for HEAD, 1xx, 204, 304 and tunnels; `close` when nothing delimits the body. */
  framing: ResponseFraming;
  /** The valid Content-Length, if any (also for HEAD and 304, whose framing is none). */
  contentLength: number | undefined;
  /** The upstream connection can carry another request after this response. */
  keepAlive: boolean;
  /** The Upgrade value: of a 101, or when Connection lists `upgrade`. */
  upgrade: string | undefined;
  /** A 101, or a 2xx to CONNECT: the connection becomes a tunnel after the head. */
  tunnel: boolean;
  /** The options listed by Connection, lowercased. */
  connectionTokens: string[];
}

const CLOSE: ResponseFraming = Object.freeze({ kind: "close" }) as ResponseFraming;

/**
 * Parses the response head at `buf[start, end)` for a request made with
 * `requestMethod`. Errors (malformed, too large, ambiguous framing) have
 * status 502. `scan` resumes an incomplete head as for requests.
 */
export function parseResponseHead(
  buf: Uint8Array,
  start: number,
  end: number,
  limits: HeadLimits,
  requestMethod: string,
  scan?: HeadScan,
): HeadResult<ResponseHead> {
  const limitEnd = start + limits.maxHeadBytes;
  const stop = Math.min(end, limitEnd);
  const s = scanState(scan);
  const headEnd = scanResponse(buf, start, stop, limits.maxHeaders, s);
  if (headEnd === NEED_MORE) {
    const r = ranOut(stop, limitEnd, limits.maxHeadBytes);
    if (!isError(r)) return r;
    s.reset();
    return upstreamError(r);
  }
  s.reset();
  if (isError(headEnd)) return upstreamError(headEnd);
  const head = buildResponse(decodeLatin1(buf, start, headEnd), requestMethod);
  return isError(head) ? upstreamError(head) : { kind: "ok", head, length: headEnd - start };
}

/** A parse error as the proxy reports an upstream's bad head: 502. */
export function upstreamError(e: HeadError): HeadError {
  return fail(502, `bad upstream response: ${e.reason}`);
}

/** Status-line scan modes (see {@linkcode HeadScan}). */
const M_STATUS = 20;
const M_REASON = 21;

/** Pass 1: validates the bytes from where `s` stopped; returns the end of the head. */
export function scanResponse(buf: Uint8Array, start: number, stop: number, maxFields: number, s: HeadScan): number | HeadError {
  let p = start + s.pos;
  if (s.mode === M_START) s.mode = M_STATUS;
  if (s.mode === M_STATUS || s.mode === M_REASON) {
    const next = s.mode === M_STATUS ? scanStatusLine(buf, start, stop, s) : scanReason(buf, start, p, stop, s);
    if (next === NEED_MORE || isError(next)) return next;
    p = next;
  }
  return scanFields(buf, start, p, stop, maxFields, s);
}

/** `HTTP-version SP 3DIGIT` then `SP reason-phrase CRLF` or (tolerated) `CRLF`. */
function scanStatusLine(buf: Uint8Array, start: number, stop: number, s: HeadScan): number | HeadError {
  const q = scanVersionName(buf, start, stop);
  if (q === NEED_MORE) return save(s, start, start);
  if (isError(q)) return q;
  for (let i = 0; i < 4; i++) {
    if (q + i >= stop) return save(s, start, start);
    const b = buf[q + i];
    if (i === 0 ? b !== SP : !isDigit(b)) return fail(400, "invalid status line");
  }
  if (q + 4 < stop && buf[q + 4] === SP) {
    s.mode = M_REASON;
    return scanReason(buf, start, q + 5, stop, s);
  }
  const next = scanLineEnd(buf, q + 4, stop, "invalid status code");
  if (next === NEED_MORE) return save(s, start, start);
  return isError(next) ? next : statusLineDone(buf, start, next, s);
}

/** reason-phrase bytes (HTAB, SP, VCHAR, obs-text) up to CRLF. */
function scanReason(buf: Uint8Array, start: number, p: number, stop: number, s: HeadScan): number | HeadError {
  while (p < stop && FIELD_BYTE[buf[p]] === 1) p++;
  if (p === stop) return save(s, start, p);
  const b = buf[p];
  if (b !== CR) return fail(400, b === LF ? "bare LF line ending" : "control byte in reason phrase");
  const next = scanCRLF(buf, p, stop, "bare CR in reason phrase");
  if (next === NEED_MORE) return save(s, start, p);
  return isError(next) ? next : statusLineDone(buf, start, next, s);
}

function statusLineDone(buf: Uint8Array, start: number, next: number, s: HeadScan): number | HeadError {
  if (versionAt(buf, start) === undefined) return fail(400, "unsupported HTTP version");
  s.mode = M_LINE;
  return next;
}

/** Pass 2: slices the valid head string and applies the field rules. */
function buildResponse(s: string, requestMethod: string): ResponseHead | HeadError {
  const eol = s.indexOf("\r\n");
  const version = s.slice(0, 8) as HttpVersion;
  const status = Number(s.slice(9, 12));
  const reason = eol > 12 ? s.slice(13, eol) : "";
  if (status < 100 || status > 599) return fail(400, `status code ${status} out of range`);
  const headers = splitFields(s, eol + 2);
  return responseSemantics(version, status, reason, headers, requestMethod);
}

function responseSemantics(
  version: HttpVersion,
  status: number,
  reason: string,
  headers: Field[],
  requestMethod: string,
): ResponseHead | HeadError {
  const facts = gatherFacts(headers);
  const tokens = connectionTokens(facts.connection);
  if (isError(tokens)) return tokens;
  const upgrade = status === 101 ? facts.upgrade?.join(", ") : upgradeOf(facts, tokens);
  if (status === 101 && (upgrade === undefined || version !== "HTTP/1.1")) {
    return fail(400, "101 without Upgrade, or in HTTP/1.0");
  }
  const connectTunnel = requestMethod === "CONNECT" && status >= 200 && status < 300;
  const framing = connectTunnel ? NO_BODY : messageFraming(facts, version); // RFC 9112 §6.3 ¶2
  if (isError(framing)) return framing;
  const tunnel = connectTunnel || status === 101;
  const final = tunnel ? NO_BODY : responseFraming(framing, status, requestMethod);
  return {
    version,
    status,
    reason,
    headers,
    framing: final,
    contentLength: framing.kind === "length" ? framing.length : undefined,
    keepAlive: !tunnel && final.kind !== "close" && isKeepAlive(version, tokens),
    upgrade,
    tunnel,
    connectionTokens: tokens,
  };
}

/** RFC 9112 §6.3: HEAD, 1xx, 204, 304 have no body; no length and no chunked reads to close. */
function responseFraming(framing: Framing, status: number, requestMethod: string): ResponseFraming {
  if (requestMethod === "HEAD" || status < 200 || status === 204 || status === 304) return NO_BODY;
  return framing.kind === "none" ? CLOSE : framing;
}

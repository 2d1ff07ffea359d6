/**
 * Response heads on bytes: {@linkcode parseResponseInto} validates with the
 * pass-1 scanner of `parseResponseHead` (../response.ts) and records spans
 * into a reused {@linkcode ResponseView}. The reason phrase stays a span.
 * Every error is a 502, as there.
 *
 * @module
 */
import { decodeLatin1, SP } from "../chars.ts";
import { fail, type HeadError, type HeadLimits, type HeadScan, isError, M_START, NEED_MORE, NO_BODY, ranOut, scanState } from "../head.ts";
import { type ResponseFraming, type ResponseHead, scanResponse, upstreamError } from "../response.ts";
import { N_UPGRADE } from "./names.ts";
import { BAIL, fastFields, fastStatusLine } from "./scan.ts";
import { framingOf } from "./request_view.ts";
import {
  BODY_CLOSE,
  BODY_NONE,
  decodedFields,
  decodedTokens,
  HeadView,
  joinedUpgrade,
  keepAliveOf,
  recordFields,
  setError,
  viewConnection,
  viewFraming,
} from "./view.ts";

/** A parsed response head as spans into the input buffer. */
export class ResponseView extends HeadView {
  /** 100..599. */
  status = 0;
  /** Span of the reason phrase (empty when none was sent). */
  reasonStart = 0;
  /** End of the reason span. */
  reasonEnd = 0;
  /** A 101, or a 2xx to CONNECT: the connection becomes a tunnel after the head. */
  tunnel = false;
}

/**
 * Parses the response head at `buf[start, end)` (for a request made with
 * `requestMethod`) into `view`: the head length, 0 when incomplete, -1 with
 * `view.errorStatus` 502 on error. In `view`, `body` is the final framing
 * (`BODY_NONE` for HEAD, 1xx, 204, 304 and tunnels; `BODY_CLOSE` when
 * nothing delimits it) and `contentLength` the valid Content-Length even
 * when the body is none (HEAD, 304), -1 without.
 */
export function parseResponseInto(
  view: ResponseView,
  buf: Uint8Array,
  start: number,
  end: number,
  limits: HeadLimits,
  requestMethod: string,
  scan?: HeadScan,
): number {
  const limitEnd = start + limits.maxHeadBytes;
  const stop = Math.min(end, limitEnd);
  const s = scanState(scan);
  if (s.mode === M_START && s.pos === 0) {
    const fast = fastResponse(view, buf, start, stop, limits.maxHeaders);
    if (fast !== BAIL) {
      view.length = 0;
      if (!responseRules(view, buf, requestMethod)) return failed(view, fail(view.errorStatus, view.errorReason));
      view.length = fast - start;
      return view.length;
    }
  }
  const headEnd = scanResponse(buf, start, stop, limits.maxHeaders, s);
  if (headEnd === NEED_MORE) {
    const r = ranOut(stop, limitEnd, limits.maxHeadBytes);
    if (!isError(r)) return 0;
    s.reset();
    return failed(view, r);
  }
  s.reset();
  if (isError(headEnd)) return failed(view, headEnd);
  view.length = 0;
  if (!readResponse(view, buf, start, limits.maxHeaders, requestMethod)) return failed(view, fail(view.errorStatus, view.errorReason));
  view.length = headEnd - start;
  return view.length;
}

function failed(view: HeadView, e: HeadError): number {
  setError(view, upstreamError(e));
  view.length = 0;
  return -1;
}

/** Pass 2 on bytes: status line spans, fields, then the rules of `responseSemantics`. */
function readResponse(v: ResponseView, buf: Uint8Array, start: number, maxFields: number, method: string): boolean {
  v.version = buf[start + 7] === 0x31 ? "HTTP/1.1" : "HTTP/1.0";
  const status = (buf[start + 9] - 0x30) * 100 + (buf[start + 10] - 0x30) * 10 + (buf[start + 11] - 0x30);
  let p = start + 12;
  if (buf[p] === SP) {
    v.reasonStart = ++p;
    while (buf[p] !== 0x0d) p++;
  } else v.reasonStart = p;
  v.reasonEnd = p;
  v.status = status;
  if (status < 100 || status > 599) return setError(v, fail(400, `status code ${status} out of range`));
  recordFields(v, buf, p + 2, maxFields);
  return responseRules(v, buf, method);
}

/** Pass 1 and 2 in one walk (./scan.ts): the end of the head, or BAIL for the exact scanners. */
function fastResponse(v: ResponseView, buf: Uint8Array, start: number, stop: number, maxFields: number): number {
  const eol = fastStatusLine(buf, start, stop);
  if (eol === BAIL) return BAIL;
  v.version = buf[start + 7] === 0x31 ? "HTTP/1.1" : "HTTP/1.0";
  v.status = (buf[start + 9] - 0x30) * 100 + (buf[start + 10] - 0x30) * 10 + (buf[start + 11] - 0x30);
  v.reasonStart = buf[start + 12] === SP ? start + 13 : start + 12;
  v.reasonEnd = eol;
  return fastFields(v, buf, eol + 2, stop, maxFields);
}

/** The status range, then the rules of `responseSemantics` on the recorded spans. */
function responseRules(v: ResponseView, buf: Uint8Array, method: string): boolean {
  const status = v.status;
  if (status < 100 || status > 599) return setError(v, fail(400, `status code ${status} out of range`));
  if (!viewConnection(v, buf)) return false;
  const hasUpgrade = v.idCount[N_UPGRADE] > 0 && (status === 101 || v.connUpgrade);
  v.upgrade = hasUpgrade ? joinedUpgrade(v, buf) : undefined;
  if (status === 101 && (!hasUpgrade || v.version !== "HTTP/1.1")) {
    return setError(v, fail(400, "101 without Upgrade, or in HTTP/1.0"));
  }
  const connectTunnel = method === "CONNECT" && status >= 200 && status < 300;
  if (connectTunnel) {
    v.body = BODY_NONE;
    v.contentLength = -1;
  } else if (!viewFraming(v, buf, v.version)) return false;
  v.tunnel = connectTunnel || status === 101;
  v.body = v.tunnel ? BODY_NONE : finalBody(v.body, status, method);
  v.keepAlive = !v.tunnel && v.body !== BODY_CLOSE && keepAliveOf(v);
  return true;
}

/** RFC 9112 §6.3: HEAD, 1xx, 204, 304 have no body; no length and no chunked reads to close. */
function finalBody(body: number, status: number, method: string): number {
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return BODY_NONE;
  return body === BODY_NONE ? BODY_CLOSE : body;
}

const CLOSE: ResponseFraming = Object.freeze({ kind: "close" }) as ResponseFraming;

/** Today's `ResponseHead` from a parsed view (for tests and slow paths; allocates). */
export function toResponseHead(v: ResponseView, buf: Uint8Array): ResponseHead {
  const framing: ResponseFraming = v.body === BODY_CLOSE ? CLOSE : v.body === BODY_NONE ? NO_BODY : framingOf(v);
  return {
    version: v.version,
    status: v.status,
    reason: decodeLatin1(buf, v.reasonStart, v.reasonEnd),
    headers: decodedFields(v, buf),
    framing,
    contentLength: v.contentLength < 0 ? undefined : v.contentLength,
    keepAlive: v.keepAlive,
    upgrade: v.upgrade,
    tunnel: v.tunnel,
    connectionTokens: decodedTokens(v, buf),
  };
}

/**
 * The chunked transfer coding (RFC 9112 §7.1), as the data plane meets it:
 * a chunk-size line is read into JS ({@linkcode parseChunkLine}), the chunk
 * data is spliced, the CRLF after it is checked ({@linkcode parseChunkDataEnd}),
 * and after the last (size 0) chunk comes the trailer section
 * ({@linkcode parseTrailers}).
 *
 * Extensions are validated and skipped. Since the chunked coding is
 * hop-by-hop, a proxy may re-emit each size line without them
 * ({@linkcode chunkSizeLine}), which leaves a next hop nothing to misread.
 * Trailer fields are forwarded only when they may be trailers at all
 * ({@linkcode forwardableTrailers}).
 *
 * @module
 */
import { BACKSLASH, CR, DQUOTE, EQUALS, HEX, isFieldByte, isWhitespace, LF, SEMICOLON, TCHAR } from "./chars.ts";
import {
  DEFAULT_LIMITS,
  decodeFields,
  fail,
  type Field,
  type HeadError,
  type HeadLimits,
  type HeadScan,
  INCOMPLETE,
  type Incomplete,
  isError,
  NEED_MORE,
  scanCRLF,
  scanFields,
  scanState,
} from "./head.ts";

/** Bytes of a chunk-size line at most, CRLF included. */
export const MAX_CHUNK_LINE = 4096;

/** Hex digits of a chunk size at most. */
export const MAX_CHUNK_SIZE_DIGITS = 16;

/** Malformed chunked framing: the connection must be closed. */
export interface ChunkError {
  kind: "error";
  reason: string;
}

/** A chunk-size line: `size` bytes of data follow its `length` bytes; 0 is the last chunk. */
export interface ChunkSize {
  kind: "size";
  size: number;
  length: number;
}

/** Outcome of {@linkcode parseChunkLine}. */
export type ChunkLineResult = Incomplete | ChunkError | ChunkSize;

/** Outcome of {@linkcode parseChunkDataEnd}: `length` is always 2. */
export type ChunkDataEndResult = Incomplete | ChunkError | { kind: "ok"; length: 2 };

/** Outcome of {@linkcode parseTrailers}: `length` includes the final empty line. */
export type TrailersResult = Incomplete | ChunkError | { kind: "ok"; length: number; fields: Field[] };

function chunkError(e: HeadError | string): ChunkError {
  return { kind: "error", reason: typeof e === "string" ? e : e.reason };
}

/**
 * Parses `chunk-size [chunk-ext] CRLF` at `buf[start, end)`: 1 to 16 hex
 * digits up to 2^53-1, extensions `;name[=token|quoted-string]` with BWS,
 * at most {@linkcode MAX_CHUNK_LINE} bytes. A bad size (or a bad byte right
 * after it) is an error at once; extensions are checked once the line's LF
 * is in. Pass the connection's {@linkcode HeadScan} so that the search for
 * that LF resumes where it stopped (O(n) for a line fed byte by byte).
 */
export function parseChunkLine(buf: Uint8Array, start: number, end: number, scan?: HeadScan): ChunkLineResult {
  const limitEnd = start + MAX_CHUNK_LINE;
  const stop = Math.min(end, limitEnd);
  const s = scanState(scan);
  const sizeEnd = scanHexDigits(buf, start, stop);
  const lineEnd = sizeEnd === NEED_MORE || isError(sizeEnd) ? sizeEnd : scanAfterSize(buf, start, sizeEnd, stop, s);
  if (lineEnd === NEED_MORE && stop !== limitEnd) return INCOMPLETE;
  s.reset();
  if (isError(lineEnd)) return chunkError(lineEnd);
  if (lineEnd === NEED_MORE) return chunkError(`chunk-size line longer than ${MAX_CHUNK_LINE} bytes`);
  const size = hexValue(buf, start);
  if (size > Number.MAX_SAFE_INTEGER) return chunkError("chunk size over 2^53-1");
  return { kind: "size", size, length: lineEnd - start };
}

/**
 * The rest of the line after the size. Its first byte (and the LF after a
 * CR) is checked at once; extensions only when an LF is in the buffer.
 */
function scanAfterSize(buf: Uint8Array, start: number, sizeEnd: number, stop: number, s: HeadScan): number | HeadError {
  const b = buf[sizeEnd];
  if (b === CR) return scanCRLF(buf, sizeEnd, stop, "bare CR in chunk-size line");
  if (b !== SEMICOLON && !isWhitespace(b)) return fail(400, b === LF ? "bare LF in chunk-size line" : "invalid byte after the chunk size");
  if (!findLF(buf, start, Math.max(sizeEnd, start + s.pos), stop, s)) return NEED_MORE;
  const cr = scanExtensions(buf, sizeEnd, stop);
  if (cr === NEED_MORE || isError(cr)) return cr;
  return scanCRLF(buf, cr, stop, "bare CR in chunk-size line");
}

/** True when `buf[from, stop)` holds an LF; else remembers that it was searched. */
function findLF(buf: Uint8Array, start: number, from: number, stop: number, s: HeadScan): boolean {
  for (let i = from; i < stop; i++) if (buf[i] === LF) return true;
  s.pos = stop - start;
  return false;
}

/** 1..16 hex digits; returns the position after them. */
function scanHexDigits(buf: Uint8Array, p: number, stop: number): number | HeadError {
  const from = p;
  while (p < stop && HEX[buf[p]] >= 0) p++;
  if (p - from > MAX_CHUNK_SIZE_DIGITS) return fail(400, `chunk size over ${MAX_CHUNK_SIZE_DIGITS} hex digits`);
  if (p === stop) return NEED_MORE;
  return p > from ? p : fail(400, "chunk-size line without a hex size");
}

/** The value of the (valid, at most 16) hex digits at `p`. */
function hexValue(buf: Uint8Array, p: number): number {
  let n = 0;
  for (let d = HEX[buf[p]]; d >= 0; d = HEX[buf[++p]]) n = n * 16 + d;
  return n;
}

/** `*( BWS ";" BWS name [ BWS "=" BWS value ] )`; returns the position of the CR. */
function scanExtensions(buf: Uint8Array, p: number, stop: number): number | HeadError {
  for (;;) {
    const q = skipWhitespace(buf, p, stop);
    if (q >= stop) return NEED_MORE;
    const b = buf[q];
    if (b === CR) return q === p ? q : fail(400, "whitespace before the CRLF of a chunk-size line");
    if (b !== SEMICOLON) return fail(400, b === LF ? "bare LF in chunk-size line" : "invalid byte in chunk-size line");
    const next = scanExtension(buf, q + 1, stop);
    if (next === NEED_MORE || isError(next)) return next;
    p = next;
  }
}

/** One extension after its `;`; returns the position after it. */
function scanExtension(buf: Uint8Array, p: number, stop: number): number | HeadError {
  const nameStart = skipWhitespace(buf, p, stop);
  const nameEnd = scanTokenChars(buf, nameStart, stop);
  if (nameEnd >= stop) return NEED_MORE;
  if (nameEnd === nameStart) return fail(400, "empty chunk extension name");
  const eq = skipWhitespace(buf, nameEnd, stop);
  if (eq >= stop) return NEED_MORE;
  if (buf[eq] !== EQUALS) return nameEnd;
  const v = skipWhitespace(buf, eq + 1, stop);
  if (v >= stop) return NEED_MORE;
  return buf[v] === DQUOTE ? scanQuotedString(buf, v + 1, stop) : scanTokenValue(buf, v, stop);
}

function scanTokenValue(buf: Uint8Array, p: number, stop: number): number | HeadError {
  const end = scanTokenChars(buf, p, stop);
  if (end >= stop) return NEED_MORE;
  return end > p ? end : fail(400, "invalid chunk extension value");
}

/** The rest of a quoted-string after its opening DQUOTE; returns the position after the closing one. */
function scanQuotedString(buf: Uint8Array, p: number, stop: number): number | HeadError {
  for (; p < stop; p++) {
    const b = buf[p];
    if (b === DQUOTE) return p + 1;
    if (b === BACKSLASH) {
      if (++p >= stop) return NEED_MORE;
      if (!isFieldByte(buf[p])) return fail(400, "invalid quoted-pair in chunk extension");
    } else if (!isFieldByte(b)) return fail(400, "invalid byte in quoted chunk extension");
  }
  return NEED_MORE;
}

function scanTokenChars(buf: Uint8Array, p: number, stop: number): number {
  while (p < stop && TCHAR[buf[p]] === 1) p++;
  return p;
}

function skipWhitespace(buf: Uint8Array, p: number, stop: number): number {
  while (p < stop && isWhitespace(buf[p])) p++;
  return p;
}

const DATA_END: ChunkDataEndResult = Object.freeze({ kind: "ok", length: 2 }) as ChunkDataEndResult;

/** Checks the CRLF that must follow chunk data, at `buf[start, end)`. */
export function parseChunkDataEnd(buf: Uint8Array, start: number, end: number): ChunkDataEndResult {
  if (start >= end) return INCOMPLETE;
  if (buf[start] !== CR) return chunkError("chunk data not followed by CRLF");
  if (start + 1 >= end) return INCOMPLETE;
  return buf[start + 1] === LF ? DATA_END : chunkError("chunk data not followed by CRLF");
}

/**
 * Parses the trailer section after the last chunk: field lines (the rules
 * of header fields) up to an empty line, within `maxHeadBytes` and
 * `maxHeaders` of `limits`; `scan` resumes as for heads.
 */
export function parseTrailers(
  buf: Uint8Array,
  start: number,
  end: number,
  limits: HeadLimits = DEFAULT_LIMITS,
  scan?: HeadScan,
): TrailersResult {
  const limitEnd = start + limits.maxHeadBytes;
  const stop = Math.min(end, limitEnd);
  const s = scanState(scan);
  const sectionEnd = scanFields(buf, start, start + s.pos, stop, limits.maxHeaders, s);
  if (sectionEnd === NEED_MORE && stop !== limitEnd) return INCOMPLETE;
  s.reset();
  if (isError(sectionEnd)) return chunkError(sectionEnd);
  if (sectionEnd === NEED_MORE) return chunkError(`trailer section larger than ${limits.maxHeadBytes} bytes`);
  return { kind: "ok", length: sectionEnd - start, fields: decodeFields(buf, start, sectionEnd) };
}

/** A bare chunk-size line for `size` bytes of data: lowercase hex and CRLF. */
export function chunkSizeLine(size: number): string {
  return `${size.toString(16)}\r\n`;
}

/**
 * Field names never forwarded in a trailer section (lowercase). RFC 9110
 * §6.5.1: a field needed before the content is processed cannot be a
 * trailer; §6.5.2: a recipient must not merge a trailer into the header
 * section unless its definition allows, and a next hop that does merge them
 * must not be handed one that changes framing, routing or the request.
 * By the categories of §6.5.1:
 *
 * - message framing: Content-Length, Transfer-Encoding, Trailer;
 * - connection control (hop-by-hop, RFC 9110 §7.6.1): Connection,
 *   Keep-Alive, Proxy-Connection, TE, Upgrade;
 * - routing: Host, and what the proxy states itself in the header section
 *   (Forwarded, X-Forwarded-For/-Host/-Proto, Via), so a trailer cannot
 *   override the client address an origin sees;
 * - request modifiers (§7.6.2, §13, §12.5): Cache-Control, Expect,
 *   Max-Forwards, Pragma, Range, If-Match, If-None-Match,
 *   If-Modified-Since, If-Unmodified-Since, If-Range, Accept,
 *   Accept-Charset, Accept-Encoding, Accept-Language, Cookie;
 * - authentication (§11): Authorization, Proxy-Authorization,
 *   WWW-Authenticate, Proxy-Authenticate (Authentication-Info, which
 *   §11.6.3 allows as a trailer, is kept);
 * - response control (§10.2, RFC 9111, RFC 6265): Age, Expires, Location,
 *   Retry-After, Vary, Set-Cookie;
 * - how to process the content (§8.3-8.5, §14.4): Content-Type,
 *   Content-Encoding, Content-Language, Content-Range.
 *
 * Everything else passes (checksums, Server-Timing, grpc-status, ...).
 */
export const NOT_TRAILERS: ReadonlySet<string> = new Set([
  "content-length", "transfer-encoding", "trailer",
  "connection", "keep-alive", "proxy-connection", "te", "upgrade",
  "host", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "via",
  "cache-control", "expect", "max-forwards", "pragma", "range",
  "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range",
  "accept", "accept-charset", "accept-encoding", "accept-language", "cookie",
  "authorization", "proxy-authorization", "www-authenticate", "proxy-authenticate",
  "age", "expires", "location", "retry-after", "vary", "set-cookie",
  "content-type", "content-encoding", "content-language", "content-range",
]);

/**
 * The trailer fields of `fields` that may be forwarded, in order and as
 * sent: those not in {@linkcode NOT_TRAILERS} and not in `alsoDrop`
 * (lowercase names, e.g. the fields a route sets on the header section).
 */
export function forwardableTrailers(fields: readonly Field[], alsoDrop: readonly string[] = []): Field[] {
  return fields.filter(([name]) => {
    const lower = name.toLowerCase();
    return !NOT_TRAILERS.has(lower) && !alsoDrop.includes(lower);
  });
}

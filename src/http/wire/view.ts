/**
 * What request and response views share: the field table (spans into the
 * input buffer), the facts the proxy needs from the fields, and the byte
 * versions of the framing and Connection rules of `../fields.ts`.
 *
 * The common shapes (one `Content-Length` of digits, one
 * `Transfer-Encoding: chunked`, Connection options that are tokens) are
 * decided on the bytes; anything else is decoded and handed to the string
 * functions of `../fields.ts`, so both paths agree on every input, error
 * reasons included.
 *
 * @module
 */
import { CR, decodeLatin1, HTAB, SP, TCHAR } from "../chars.ts";
import { checkTransferEncoding, connectionTokens, parseContentLength } from "../fields.ts";
import { fail, type Field, type HeadError, type HttpVersion } from "../head.ts";
import { asciiBytes, equalsLower, LOWER, N_CONNECTION, N_CONTENT_LENGTH, N_COUNT, N_TRANSFER_ENCODING, N_UPGRADE, nameId } from "./names.ts";

/** Int32 slots per field in {@linkcode HeadView.fields}. */
export const STRIDE = 5;
/** Slot: offset of the name's first byte. */
export const F_NAME = 0;
/** Slot: offset after the name (the colon). */
export const F_NAME_END = 1;
/** Slot: offset of the value's first byte (after OWS). */
export const F_VALUE = 2;
/** Slot: offset after the value's last byte (before OWS and CRLF). */
export const F_VALUE_END = 3;
/** Slot: the name's id (`N_*` of names.ts). */
export const F_ID = 4;

/** No body. */
export const BODY_NONE = 0;
/** `contentLength` bytes. */
export const BODY_LENGTH = 1;
/** The chunked coding. */
export const BODY_CHUNKED = 2;
/** Until the upstream closes (responses only). */
export const BODY_CLOSE = 3;

const INITIAL_FIELDS = 128;
const INITIAL_TOKENS = 16;

/** A parsed head as spans into the caller's buffer; one per connection and direction, reused. */
export class HeadView {
  /** Bytes of the head, CRLFCRLF included (0 until a parse succeeds). */
  length = 0;
  /** HTTP/1.0 or HTTP/1.1. */
  version: HttpVersion = "HTTP/1.1";
  /** `fieldCount` × {@linkcode STRIDE} slots: name/value spans and name id, in order. */
  fields: Int32Array = new Int32Array(INITIAL_FIELDS * STRIDE);
  /** Field lines in the head. */
  fieldCount = 0;
  /** Lines per name id. */
  readonly idCount: Int32Array = new Int32Array(N_COUNT);
  /** Index of the last field line per name id (valid when its count > 0). */
  readonly idLast: Int32Array = new Int32Array(N_COUNT);
  /** `BODY_NONE`, `BODY_LENGTH`, `BODY_CHUNKED` or (responses) `BODY_CLOSE`. */
  body = BODY_NONE;
  /** The valid Content-Length, -1 when none. */
  contentLength = -1;
  /** The connection can carry another message after this one. */
  keepAlive = false;
  /** The Upgrade value (lines joined with ", ") when it counts, else undefined. */
  upgrade: string | undefined = undefined;
  /** Connection options in order: `tokenCount` × [start, end) spans (compare ignoring case). */
  tokens: Int32Array = new Int32Array(INITIAL_TOKENS * 2);
  /** Connection options listed. */
  tokenCount = 0;
  /** Connection lists `close`. */
  connClose = false;
  /** Connection lists `keep-alive`. */
  connKeepAlive = false;
  /** Connection lists `upgrade`. */
  connUpgrade = false;
  /** After a -1 result: the status to answer. */
  errorStatus = 0;
  /** After a -1 result: why, for logs. */
  errorReason = "";
}

/** Records `e` on `v`; returns false. */
export function setError(v: HeadView, e: HeadError): false {
  v.errorStatus = e.status;
  v.errorReason = e.reason;
  return false;
}

function isOWS(b: number): boolean {
  return b === SP || b === HTAB;
}

/**
 * Records the field lines of a scanned (so valid) head from `p` up to its
 * empty line; returns the offset after the final CRLF.
 */
export function recordFields(v: HeadView, buf: Uint8Array, p: number, maxFields: number): number {
  if (v.fields.length < maxFields * STRIDE) v.fields = new Int32Array(maxFields * STRIDE);
  v.idCount.fill(0);
  const f = v.fields;
  let n = 0;
  while (buf[p] !== CR) {
    const name = p;
    while (buf[p] !== 0x3a) p++;
    const colon = p;
    let eol = p + 1;
    while (buf[eol] !== CR) eol++;
    let vs = colon + 1, ve = eol;
    while (vs < ve && isOWS(buf[vs])) vs++;
    while (ve > vs && isOWS(buf[ve - 1])) ve--;
    const id = nameId(buf, name, colon);
    const at = n * STRIDE;
    f[at + F_NAME] = name;
    f[at + F_NAME_END] = colon;
    f[at + F_VALUE] = vs;
    f[at + F_VALUE_END] = ve;
    f[at + F_ID] = id;
    v.idCount[id]++;
    v.idLast[id] = n;
    n++;
    p = eol + 2;
  }
  v.fieldCount = n;
  return p + 2;
}

/** The values of the fields with name id `id`, decoded, in order. */
export function valuesOf(v: HeadView, buf: Uint8Array, id: number): string[] {
  const out: string[] = [];
  const f = v.fields;
  for (let i = 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    if (f[at + F_ID] === id) out.push(decodeLatin1(buf, f[at + F_VALUE], f[at + F_VALUE_END]));
  }
  return out;
}

/** Every field, decoded as `../head.ts` `Field`s. */
export function decodedFields(v: HeadView, buf: Uint8Array): Field[] {
  const out: Field[] = [];
  const f = v.fields;
  for (let i = 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    out.push([decodeLatin1(buf, f[at + F_NAME], f[at + F_NAME_END]), decodeLatin1(buf, f[at + F_VALUE], f[at + F_VALUE_END])]);
  }
  return out;
}

/** The Connection options, lowercased, as `../fields.ts` lists them. */
export function decodedTokens(v: HeadView, buf: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < v.tokenCount; i++) out.push(decodeLatin1(buf, v.tokens[2 * i], v.tokens[2 * i + 1]).toLowerCase());
  return out;
}

/** The Upgrade lines joined with ", " (only called when there is one). */
export function joinedUpgrade(v: HeadView, buf: Uint8Array): string {
  return valuesOf(v, buf, N_UPGRADE).join(", ");
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** `1*DIGIT` at `buf[start, end)` not over 2^53-1, or -1 (as `parseDecimal` would fail). */
export function decimalAt(buf: Uint8Array, start: number, end: number): number {
  if (start === end) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
    if (n > MAX_SAFE) return -1;
  }
  return n;
}

function hasByte(buf: Uint8Array, start: number, end: number, b: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] === b) return true;
  return false;
}

const CHUNKED_BYTES = asciiBytes("chunked");

/** True for a single Transfer-Encoding line whose value is `chunked` in any case. */
function isPlainChunked(v: HeadView, buf: Uint8Array): boolean {
  if (v.idCount[N_TRANSFER_ENCODING] !== 1) return false;
  const at = v.idLast[N_TRANSFER_ENCODING] * STRIDE;
  const s = v.fields[at + F_VALUE];
  return v.fields[at + F_VALUE_END] - s === 7 && equalsLower(buf, s, CHUNKED_BYTES);
}

/** Body framing from Content-Length and Transfer-Encoding (`messageFraming` of ../fields.ts) into `v.body`/`v.contentLength`. */
export function viewFraming(v: HeadView, buf: Uint8Array, version: HttpVersion): boolean {
  v.contentLength = -1;
  const cl = v.idCount[N_CONTENT_LENGTH];
  if (v.idCount[N_TRANSFER_ENCODING] > 0) {
    if (cl > 0) return setError(v, fail(400, "both Content-Length and Transfer-Encoding"));
    if (version === "HTTP/1.0") return setError(v, fail(400, "Transfer-Encoding in an HTTP/1.0 message"));
    if (!isPlainChunked(v, buf)) {
      const e = checkTransferEncoding(valuesOf(v, buf, N_TRANSFER_ENCODING));
      if (e !== undefined) return setError(v, e);
    }
    v.body = BODY_CHUNKED;
    return true;
  }
  if (cl === 0) {
    v.body = BODY_NONE;
    return true;
  }
  const length = contentLengthOf(v, buf);
  if (length < 0) return false;
  v.body = BODY_LENGTH;
  v.contentLength = length;
  return true;
}

/** The Content-Length (`parseContentLength`): on the bytes for one line without a comma. */
function contentLengthOf(v: HeadView, buf: Uint8Array): number {
  if (v.idCount[N_CONTENT_LENGTH] === 1) {
    const at = v.idLast[N_CONTENT_LENGTH] * STRIDE;
    const s = v.fields[at + F_VALUE], e = v.fields[at + F_VALUE_END];
    if (!hasByte(buf, s, e, 0x2c)) {
      const n = decimalAt(buf, s, e);
      if (n >= 0) return n;
    }
  }
  const r = parseContentLength(valuesOf(v, buf, N_CONTENT_LENGTH));
  if (typeof r === "number") return r;
  setError(v, r);
  return -1;
}

const CLOSE_BYTES = asciiBytes("close");
const KEEP_ALIVE_BYTES = asciiBytes("keep-alive");
const UPGRADE_BYTES = asciiBytes("upgrade");

/** The Connection options (`connectionTokens` of ../fields.ts) into `v.tokens` and the flags. */
export function viewConnection(v: HeadView, buf: Uint8Array): boolean {
  v.tokenCount = 0;
  v.connClose = v.connKeepAlive = v.connUpgrade = false;
  const lines = v.idCount[N_CONNECTION];
  if (lines === 0) return true;
  const f = v.fields;
  for (let i = lines === 1 ? v.idLast[N_CONNECTION] : 0; i < v.fieldCount; i++) {
    const at = i * STRIDE;
    if (f[at + F_ID] !== N_CONNECTION) continue;
    if (!listTokens(v, buf, f[at + F_VALUE], f[at + F_VALUE_END])) {
      const e = connectionTokens(valuesOf(v, buf, N_CONNECTION));
      return setError(v, Array.isArray(e) ? fail(400, "invalid Connection option") : e);
    }
  }
  return true;
}

/** Adds the elements of one list value; false at an element that is not a token. */
function listTokens(v: HeadView, buf: Uint8Array, p: number, end: number): boolean {
  while (p <= end) {
    let q = p;
    while (q < end && buf[q] !== 0x2c) q++;
    let s = p, e = q;
    while (s < e && isOWS(buf[s])) s++;
    while (e > s && isOWS(buf[e - 1])) e--;
    if (e > s) {
      for (let i = s; i < e; i++) if (TCHAR[buf[i]] !== 1) return false;
      addToken(v, buf, s, e);
    }
    p = q + 1;
  }
  return true;
}

function addToken(v: HeadView, buf: Uint8Array, s: number, e: number): void {
  if (v.tokens.length < 2 * (v.tokenCount + 1)) {
    const grown = new Int32Array(v.tokens.length * 2);
    grown.set(v.tokens);
    v.tokens = grown;
  }
  v.tokens[2 * v.tokenCount] = s;
  v.tokens[2 * v.tokenCount + 1] = e;
  v.tokenCount++;
  const n = e - s;
  if (n === 5 && equalsLower(buf, s, CLOSE_BYTES)) v.connClose = true;
  else if (n === 10 && equalsLower(buf, s, KEEP_ALIVE_BYTES)) v.connKeepAlive = true;
  else if (n === 7 && equalsLower(buf, s, UPGRADE_BYTES)) v.connUpgrade = true;
}

/** Persistence (`isKeepAlive` of ../fields.ts) from the flags. */
export function keepAliveOf(v: HeadView): boolean {
  if (v.connClose) return false;
  return v.version === "HTTP/1.1" || v.connKeepAlive;
}

/** True when one of the Connection options is `buf[start, end)` (ignoring ASCII case). */
export function isListed(v: HeadView, buf: Uint8Array, start: number, end: number): boolean {
  const n = end - start;
  const t = v.tokens;
  for (let i = 0; i < v.tokenCount; i++) {
    const s = t[2 * i];
    if (t[2 * i + 1] - s === n && sameIgnoringCase(buf, s, start, n)) return true;
  }
  return false;
}

function sameIgnoringCase(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    if (LOWER[buf[a + i]] !== LOWER[buf[b + i]]) return false;
  }
  return true;
}

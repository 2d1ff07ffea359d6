/**
 * What request and response heads share: result types, limits, and the
 * field-section scanner.
 *
 * A head is parsed in two passes. The first walks the bytes without
 * allocating: it validates every complete line and finds the CRLFCRLF (or
 * stops with "incomplete" / an error as early as the bytes allow). Only a
 * complete, valid head is decoded, once, into a string that the second pass
 * slices into fields.
 *
 * @module
 */
import { COLON, CR, decodeLatin1, FIELD_BYTE, HTAB, LF, SP, TCHAR, trimOWS } from "./chars.ts";

/** Bounds on a head; exceeding one is a 431 (or 414 for the target). */
export interface HeadLimits {
  /** Bytes of the whole head, CRLFCRLF included (431 past it). */
  readonly maxHeadBytes: number;
  /** Field lines in the head (431 past it). */
  readonly maxHeaders: number;
  /** Bytes of the request target (414 past it). */
  readonly maxTargetBytes: number;
}

/** 16 KiB head, 100 fields, 8 KiB target. */
export const DEFAULT_LIMITS: HeadLimits = Object.freeze({
  maxHeadBytes: 16 * 1024,
  maxHeaders: 100,
  maxTargetBytes: 8 * 1024,
});

/** One field line: name in its original case, value without the surrounding OWS. */
export type Field = [name: string, value: string];

/** Versions we speak. */
export type HttpVersion = "HTTP/1.0" | "HTTP/1.1";

/** How the body of a message is delimited. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** More bytes are needed. */
export interface Incomplete {
  kind: "incomplete";
}

/** The head is invalid: answer `status` (and close); `reason` is for logs. */
export interface HeadError {
  kind: "error";
  status: number;
  reason: string;
}

/** Outcome of parsing a head; `length` counts the head's bytes, CRLFCRLF included. */
export type HeadResult<T> = Incomplete | HeadError | { kind: "ok"; head: T; length: number };

/** The one "incomplete" value (no allocation on the common path). */
export const INCOMPLETE: Incomplete = Object.freeze({ kind: "incomplete" }) as Incomplete;

/** Framing `none`, shared. */
export const NO_BODY: Framing = Object.freeze({ kind: "none" }) as Framing;

/** Framing `chunked`, shared. */
export const CHUNKED: Framing = Object.freeze({ kind: "chunked" }) as Framing;

/** An error result. */
export function fail(status: number, reason: string): HeadError {
  return { kind: "error", status, reason };
}

/** True for an error result (scanners return positions, checks return values). */
export function isError<T>(x: T | HeadError): x is HeadError {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "error";
}

/** A scanner's "ran out of bytes" result (the resume point is saved in the {@linkcode HeadScan}). */
export const NEED_MORE = -1;

/** Scan mode: a new head (each start line has its own modes, 10 and up). */
export const M_START = 0;
/** Scan mode: at the start of a field line or of the final empty line. */
export const M_LINE = 1;
/** Scan mode: inside a field name (`mark` is where it started). */
export const M_NAME = 2;
/** Scan mode: inside a field value. */
export const M_VALUE = 3;
/** Scan mode: the section's empty line has been read. */
export const M_DONE = 4;

/**
 * How far pass 1 got through an incomplete head, so that the next call on
 * the same head resumes there instead of re-validating from `start`: without
 * it, a head fed one byte per read costs O(n²) (~0.5 s of CPU for 16 KiB).
 *
 * Keep one per connection and pass it to every call for the same head, with
 * the same `start` (or with the bytes moved along with `start`). The parsers
 * reset it after an "ok" or "error" result, ready for the next head.
 */
export class HeadScan {
  /** Offset from `start` where validation resumes. */
  pos = 0;
  /** What is scanned at `pos`: a `M_*` code, {@linkcode M_START} for a new head. */
  mode = M_START;
  /** Offset from `start` of the element under way (method, target, version, status line, field name). */
  mark = 0;
  /** Field lines complete so far. */
  fields = 0;
  /** Back to the beginning of a head. */
  reset(): void {
    this.pos = 0;
    this.mode = M_START;
    this.mark = 0;
    this.fields = 0;
  }
}

const SCRATCH = new HeadScan();

/** The caller's scan state, or a reset scratch one (a fresh parse from `start`). */
export function scanState(scan: HeadScan | undefined): HeadScan {
  if (scan !== undefined) return scan;
  SCRATCH.reset();
  return SCRATCH;
}

/** Saves `p` as the resume point; returns NEED_MORE. */
export function save(s: HeadScan, start: number, p: number): number {
  s.pos = p - start;
  return NEED_MORE;
}

/**
 * What running out of bytes at `stop` means: a 431 when `stop` is the head
 * limit, else "incomplete".
 */
export function ranOut(stop: number, limitEnd: number, maxHeadBytes: number): Incomplete | HeadError {
  return stop === limitEnd ? fail(431, `head larger than ${maxHeadBytes} bytes`) : INCOMPLETE;
}

/**
 * Scans field lines from `p` (in state `s`) up to the empty line that ends
 * the section. Returns the position after that CRLF, {@linkcode NEED_MORE}
 * when `stop` is reached first, or an error (400 syntax, 431 over `maxFields`).
 */
export function scanFields(
  buf: Uint8Array,
  start: number,
  p: number,
  stop: number,
  maxFields: number,
  s: HeadScan,
): number | HeadError {
  if (s.mode === M_START) s.mode = M_LINE;
  for (;;) {
    const next = s.mode === M_NAME
      ? scanName(buf, start, p, stop, s)
      : s.mode === M_VALUE
      ? scanValue(buf, start, p, stop, s)
      : scanLineStart(buf, start, p, stop, maxFields, s);
    if (next === NEED_MORE || isError(next) || s.mode === M_DONE) return next;
    p = next;
  }
}

/** The first byte of a line: the empty line ends the section, else a field name starts. */
function scanLineStart(buf: Uint8Array, start: number, p: number, stop: number, maxFields: number, s: HeadScan): number | HeadError {
  if (p >= stop) return save(s, start, p);
  const b = buf[p];
  if (b === CR) {
    if (p + 1 >= stop) return save(s, start, p);
    if (buf[p + 1] !== LF) return fail(400, "bare CR in the head");
    s.mode = M_DONE;
    return p + 2;
  }
  if (b === LF) return fail(400, "bare LF line ending");
  if (b === SP || b === HTAB) return fail(400, "obs-fold or whitespace at the start of a field line");
  if (s.fields >= maxFields) return fail(431, `more than ${maxFields} header fields`);
  s.mode = M_NAME;
  s.mark = p - start;
  return p;
}

/** tchar+ then ":" with nothing between. */
function scanName(buf: Uint8Array, start: number, p: number, stop: number, s: HeadScan): number | HeadError {
  while (p < stop && TCHAR[buf[p]] === 1) p++;
  if (p === stop) return save(s, start, p);
  if (buf[p] !== COLON) return badNameByte(buf[p]);
  if (p === start + s.mark) return fail(400, "empty field name");
  s.mode = M_VALUE;
  return p + 1;
}

function badNameByte(b: number): HeadError {
  if (b === SP || b === HTAB) return fail(400, "whitespace in a field name or before its colon");
  if (b === CR || b === LF) return fail(400, "field line without a colon");
  return fail(400, `invalid byte 0x${b.toString(16).padStart(2, "0")} in field name`);
}

/** Value bytes up to CRLF: no NUL, no CTL but HTAB, no CR or LF alone. */
function scanValue(buf: Uint8Array, start: number, p: number, stop: number, s: HeadScan): number | HeadError {
  while (p < stop && FIELD_BYTE[buf[p]] === 1) p++;
  if (p === stop) return save(s, start, p);
  if (buf[p] !== CR) return badValueByte(buf[p]);
  if (p + 1 >= stop) return save(s, start, p);
  if (buf[p + 1] !== LF) return fail(400, "bare CR in field value");
  s.fields++;
  s.mode = M_LINE;
  return p + 2;
}

function badValueByte(b: number): HeadError {
  if (b === LF) return fail(400, "bare LF line ending");
  if (b === 0) return fail(400, "NUL in field value");
  return fail(400, `control byte 0x${b.toString(16).padStart(2, "0")} in field value`);
}

/** Position after the CRLF at `p`, NEED_MORE, or 400 with `reason` for a CR alone. */
export function scanCRLF(buf: Uint8Array, p: number, stop: number, reason: string): number | HeadError {
  if (p + 1 >= stop) return NEED_MORE;
  return buf[p + 1] === LF ? p + 2 : fail(400, reason);
}

/** CRLF at `p` (anything else is a 400 with `reason`); returns the position after it. */
export function scanLineEnd(buf: Uint8Array, p: number, stop: number, reason: string): number | HeadError {
  if (p >= stop) return NEED_MORE;
  const b = buf[p];
  if (b === CR) return scanCRLF(buf, p, stop, "bare CR in the head");
  return fail(400, b === LF ? "bare LF line ending" : reason);
}

/**
 * Slices the field lines of a scanned (so valid) head string from `p` to its
 * empty line into fields.
 */
export function splitFields(s: string, p: number): Field[] {
  const fields: Field[] = [];
  for (let eol = s.indexOf("\r\n", p); eol !== p; eol = s.indexOf("\r\n", p)) {
    const colon = s.indexOf(":", p);
    fields.push([s.slice(p, colon), trimOWS(s, colon + 1, eol)]);
    p = eol + 2;
  }
  return fields;
}

/** Decodes a scanned field section `buf[start, end)` into fields. */
export function decodeFields(buf: Uint8Array, start: number, end: number): Field[] {
  return end - start === 2 ? [] : splitFields(decodeLatin1(buf, start, end), 0);
}

const HTTP_NAME = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"

/**
 * Scans `HTTP/DIGIT.DIGIT` at `p` (the name is case-sensitive); returns the
 * position after it, NEED_MORE, or 400 as soon as a byte cannot fit.
 */
export function scanVersionName(buf: Uint8Array, p: number, stop: number): number | HeadError {
  for (let i = 0; i < 8; i++) {
    if (p + i >= stop) return NEED_MORE;
    const b = buf[p + i];
    const fits = i < 5 ? b === HTTP_NAME[i] : i === 6 ? b === 0x2e : b >= 0x30 && b <= 0x39;
    if (!fits) return fail(400, b === LF ? "bare LF line ending" : "invalid HTTP version");
  }
  return p + 8;
}

/** The version of a scanned `HTTP/x.y` at `p`, or undefined when it is not 1.0 or 1.1. */
export function versionAt(buf: Uint8Array, p: number): HttpVersion | undefined {
  if (buf[p + 5] !== 0x31) return undefined;
  const minor = buf[p + 7];
  return minor === 0x31 ? "HTTP/1.1" : minor === 0x30 ? "HTTP/1.0" : undefined;
}

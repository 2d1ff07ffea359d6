/**
 * Pass 1 and pass 2 in one walk, for the common case: a fresh head whose
 * bytes are all there and plainly valid. The validation is that of the
 * pass-1 scanners (`scanRequest` of ../request.ts, `scanResponse` of
 * ../response.ts, `scanFields` of ../head.ts) and the spans are those of
 * `recordFields` (view.ts), recorded as the bytes are checked.
 *
 * These scanners only ever accept: at the first byte that is not plainly
 * valid, or when the bytes run out, they give up with {@linkcode BAIL} and
 * the caller runs the exact scanners from the start, which decide the
 * outcome (error, status and reason, "incomplete" and its resume point).
 * So a head these accept is one the exact scanners accept with the same
 * end, and every other head takes the exact path unchanged.
 *
 * @module
 */
import { COLON, CR, FIELD_BYTE, HTAB, LF, SP, TCHAR } from "../chars.ts";
import { nameId } from "./names.ts";
import { F_ID, F_NAME, F_NAME_END, F_VALUE, F_VALUE_END, type HeadView, STRIDE } from "./view.ts";

/** Not accepted here: run the exact scanners. */
export const BAIL = -1;

/**
 * Validates and records the field lines at `p` up to the empty line, all
 * before `stop`; returns the offset after the final CRLF, or {@linkcode BAIL}.
 */
export function fastFields(v: HeadView, buf: Uint8Array, p: number, stop: number, maxFields: number): number {
  if (v.fields.length < maxFields * STRIDE) v.fields = new Int32Array(maxFields * STRIDE);
  const f = v.fields, count = v.idCount, last = v.idLast;
  count.fill(0);
  let n = 0;
  for (;;) {
    if (p >= stop) return BAIL;
    if (buf[p] === CR) {
      if (p + 1 >= stop || buf[p + 1] !== LF) return BAIL;
      v.fieldCount = n;
      return p + 2;
    }
    if (n >= maxFields) return BAIL;
    const name = p;
    while (p < stop && TCHAR[buf[p]] === 1) p++;
    if (p === name || p >= stop || buf[p] !== COLON) return BAIL;
    const colon = p;
    let vs = p + 1;
    while (vs < stop && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
    let q = vs;
    while (q < stop && FIELD_BYTE[buf[q]] === 1) q++;
    if (q + 1 >= stop || buf[q] !== CR || buf[q + 1] !== LF) return BAIL;
    let ve = q;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    const id = nameId(buf, name, colon);
    const at = n * STRIDE;
    f[at + F_NAME] = name;
    f[at + F_NAME_END] = colon;
    f[at + F_VALUE] = vs;
    f[at + F_VALUE_END] = ve;
    f[at + F_ID] = id;
    count[id]++;
    last[id] = n;
    n++;
    p = q + 2;
  }
}

/** Spans of a request line found by {@linkcode fastRequestLine}, read back by the caller. */
export interface RequestLineSpans {
  methodStart: number;
  methodEnd: number;
  targetStart: number;
  targetEnd: number;
}

/**
 * `method SP target SP HTTP/1.x CRLF` at `start` (no leading empty line), all
 * before `stop`: records the spans into `v` and returns where the fields
 * start, or {@linkcode BAIL}. The version (1.0 or 1.1) is at `targetEnd + 8`.
 */
export function fastRequestLine(v: RequestLineSpans, buf: Uint8Array, start: number, stop: number, maxTarget: number): number {
  let p = start;
  while (p < stop && TCHAR[buf[p]] === 1) p++;
  if (p === start || p >= stop || buf[p] !== SP) return BAIL;
  const methodEnd = p;
  const from = ++p;
  for (;;) {
    if (p >= stop) return BAIL;
    const b = buf[p];
    if (b === SP) break;
    if (b < 0x21 || b > 0x7e || b === 0x23 || p - from >= maxTarget) return BAIL;
    p++;
  }
  if (p === from || p + 11 > stop) return BAIL;
  // " HTTP/1.0\r\n" or " HTTP/1.1\r\n"
  if (
    buf[p + 1] !== 0x48 || buf[p + 2] !== 0x54 || buf[p + 3] !== 0x54 || buf[p + 4] !== 0x50 || buf[p + 5] !== 0x2f ||
    buf[p + 6] !== 0x31 || buf[p + 7] !== 0x2e || (buf[p + 8] !== 0x31 && buf[p + 8] !== 0x30) || buf[p + 9] !== CR ||
    buf[p + 10] !== LF
  ) return BAIL;
  v.methodStart = start;
  v.methodEnd = methodEnd;
  v.targetStart = from;
  v.targetEnd = p;
  return p + 11;
}

/**
 * `HTTP/1.x SP 3DIGIT` then `SP reason CRLF` or `CRLF` at `start`, all
 * before `stop`: returns the end of the reason phrase (its CR), or
 * {@linkcode BAIL}. The status range is not checked (pass 2 does).
 */
export function fastStatusLine(buf: Uint8Array, start: number, stop: number): number {
  const p = start;
  if (p + 14 > stop) return BAIL;
  if (
    buf[p] !== 0x48 || buf[p + 1] !== 0x54 || buf[p + 2] !== 0x54 || buf[p + 3] !== 0x50 || buf[p + 4] !== 0x2f ||
    buf[p + 5] !== 0x31 || buf[p + 6] !== 0x2e || (buf[p + 7] !== 0x31 && buf[p + 7] !== 0x30) || buf[p + 8] !== SP ||
    !digit(buf[p + 9]) || !digit(buf[p + 10]) || !digit(buf[p + 11])
  ) return BAIL;
  let q = p + 12;
  if (buf[q] === SP) {
    q++;
    while (q < stop && FIELD_BYTE[buf[q]] === 1) q++;
  }
  if (q + 1 >= stop || buf[q] !== CR || buf[q + 1] !== LF) return BAIL;
  return q;
}

function digit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

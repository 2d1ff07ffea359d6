/**
 * Byte classes of RFC 9110/9112 and the latin1 codec for heads.
 *
 * Heads are decoded byte for byte (latin1: byte n becomes code unit n), so
 * obs-text in a value survives a parse/rewrite round trip: encode a rewritten
 * head with {@linkcode encodeLatin1} or {@linkcode writeLatin1}, never with
 * TextEncoder (UTF-8 would change bytes ≥ 0x80).
 *
 * @module
 */

export const HTAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** 1 for each tchar byte (RFC 9110 §5.6.2), 0 otherwise. */
export const TCHAR: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let i = 0; i < TCHARS.length; i++) table[TCHARS.charCodeAt(i)] = 1;
  return table;
})();

/** 1 for each byte allowed inside a field value (HTAB, SP, VCHAR, obs-text), 0 otherwise. */
export const FIELD_BYTE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) table[b] = b === 0x09 || (b >= 0x20 && b !== 0x7f) ? 1 : 0;
  return table;
})();

/** Value of each hex digit byte, -1 for any other byte. */
export const HEX: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  const digits = "0123456789abcdef";
  for (let i = 0; i < 16; i++) {
    table[digits.charCodeAt(i)] = i;
    table[digits.toUpperCase().charCodeAt(i)] = i;
  }
  return table;
})();

/** True for SP or HTAB (the whitespace of OWS/BWS). */
export function isWhitespace(b: number): boolean {
  return b === SP || b === HTAB;
}

/** True for an ASCII digit byte. */
export function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

/** True for a byte allowed inside a field value: HTAB, SP, VCHAR, obs-text. */
export function isFieldByte(b: number): boolean {
  return FIELD_BYTE[b] === 1;
}

/** True for a non-empty string of tchar only (a token, e.g. a field name). */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TCHAR[c] !== 1) return false;
  }
  return true;
}

/** True when `s` can be sent as a field value: latin1, no CTL but HTAB, no edge whitespace. */
export function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || !isFieldByte(c)) return false;
  }
  return s.length === 0 || (!isWhitespace(s.charCodeAt(0)) && !isWhitespace(s.charCodeAt(s.length - 1)));
}

/** Removes leading and trailing SP/HTAB (only those: `String#trim` also eats U+00A0). */
export function trimOWS(s: string, from = 0, to = s.length): string {
  while (from < to && isWhitespace(s.charCodeAt(from))) from++;
  while (to > from && isWhitespace(s.charCodeAt(to - 1))) to--;
  return s.slice(from, to);
}

const ASCII = new TextDecoder(); // UTF-8: identical to latin1 on ASCII bytes
const DECODE_STEP = 4096;

/** Decodes `buf[start, end)` byte for byte (latin1), one string per call. */
export function decodeLatin1(buf: Uint8Array, start: number, end: number): string {
  for (let i = start; i < end; i++) {
    if (buf[i] >= 0x80) return decodeBytewise(buf, start, end);
  }
  return ASCII.decode(buf.subarray(start, end));
}

function decodeBytewise(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += DECODE_STEP) {
    s += String.fromCharCode(...buf.subarray(i, Math.min(end, i + DECODE_STEP)));
  }
  return s;
}

/**
 * Writes `s` into `buf` at `offset`, one byte per code unit; returns the
 * bytes written. RangeError when a code unit is over 0xFF or `buf` is short.
 */
export function writeLatin1(s: string, buf: Uint8Array, offset = 0): number {
  if (offset < 0 || offset + s.length > buf.length) {
    throw new RangeError(`writeLatin1: ${s.length} bytes do not fit at offset ${offset} of ${buf.length}`);
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new RangeError(`writeLatin1: character U+${c.toString(16)} at ${i} is not latin1`);
    buf[offset + i] = c;
  }
  return s.length;
}

/** Encodes `s` one byte per code unit (RangeError for a code unit over 0xFF). */
export function encodeLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  writeLatin1(s, out, 0);
  return out;
}

/**
 * Helpers for the `src/http` tests (not part of the API).
 *
 * @module
 */
import { encodeLatin1 } from "./chars.ts";
import { HeadScan, M_START } from "./head.ts";

/** Bytes placed before and after the text under test: a parser reading outside [start, end) would see a head end. */
const BEFORE = "\r\n\r\nJUNK";
const AFTER = "\r\n\r\n0\r\n\r\n";

/** `text` (latin1) inside a larger buffer, with the offsets that delimit it. */
export interface Framed {
  buf: Uint8Array;
  start: number;
  end: number;
}

/** Puts `text` between junk bytes, as the data plane's reused buffer would hold it. */
export function framed(text: string): Framed {
  const buf = encodeLatin1(BEFORE + text + AFTER);
  return { buf, start: BEFORE.length, end: BEFORE.length + text.length };
}

/** Calls `parse` on every proper prefix of `text` (in a framed buffer); returns the kinds seen. */
export function prefixKinds(text: string, parse: (buf: Uint8Array, start: number, end: number) => { kind: string }): Set<string> {
  const { buf, start, end } = framed(text);
  const kinds = new Set<string>();
  for (let cut = start; cut < end; cut++) kinds.add(parse(buf, start, cut).kind);
  return kinds;
}

/** A head from its lines: each ends in CRLF, then the empty line. */
export function head(...lines: string[]): string {
  return lines.map((l) => `${l}\r\n`).join("") + "\r\n";
}

/** A parser that can resume with a {@linkcode HeadScan}. */
export type ResumableParse<R> = (buf: Uint8Array, start: number, end: number, scan: HeadScan) => R;

/**
 * Feeds `text` to `parse` as a connection would: growing ends (every byte, or
 * the given cut points), one HeadScan throughout, stopping at the first
 * result that is not "incomplete". Returns every result and the scan.
 */
export function feed<R extends { kind: string }>(
  text: string,
  parse: ResumableParse<R>,
  cuts?: readonly number[],
): { results: R[]; scan: HeadScan } {
  const { buf, start } = framed(text);
  const scan = new HeadScan();
  const ends = [...(cuts ?? Array.from({ length: text.length }, (_, i) => i + 1)), text.length];
  const results: R[] = [];
  for (const e of ends) {
    const r = parse(buf, start, start + e, scan);
    results.push(r);
    if (r.kind !== "incomplete") break;
  }
  return { results, scan };
}

/** True when `scan` is back at the beginning of a head. */
export function isReset(scan: HeadScan): boolean {
  return scan.pos === 0 && scan.mode === M_START && scan.mark === 0 && scan.fields === 0;
}

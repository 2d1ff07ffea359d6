/** Static validators, conditional requests and byte ranges: table tests of the pure functions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { etagOf, lastModifiedOf, notModified, parseHttpDate, rangeOf } from "./conditional.ts";

const FILE = { size: 1000, mtimeMs: 1_700_000_000_123, ino: 0xbeef };
const h = (fields: Record<string, string>) => new Map(Object.entries(fields));

test("static conditional: ETag and Last-Modified come from inode, size and mtime", () => {
  assert.equal(etagOf(FILE), `"beef-3e8-${Math.floor(FILE.mtimeMs).toString(16)}"`);
  assert.notEqual(etagOf({ ...FILE, size: 1001 }), etagOf(FILE));
  assert.equal(lastModifiedOf(FILE), new Date(1_700_000_000_000).toUTCString());
});

test("static conditional: If-None-Match wins over If-Modified-Since; weak tags and * match", () => {
  const tag = etagOf(FILE);
  const cases: [Record<string, string>, boolean][] = [
    [{}, false],
    [{ "if-none-match": tag }, true],
    [{ "if-none-match": `"x", W/${tag}` }, true],
    [{ "if-none-match": "*" }, true],
    [{ "if-none-match": '"other"', "if-modified-since": lastModifiedOf(FILE) }, false],
    [{ "if-modified-since": lastModifiedOf(FILE) }, true],
    [{ "if-modified-since": new Date(1_600_000_000_000).toUTCString() }, false],
    [{ "if-modified-since": "not a date" }, false],
  ];
  for (const [fields, want] of cases) assert.equal(notModified(h(fields), FILE), want, JSON.stringify(fields));
});

test("static conditional: single byte ranges, suffixes, open ends, If-Range and 416", () => {
  const cases: [Record<string, string>, unknown][] = [
    [{}, { kind: "full" }],
    [{ range: "bytes=0-99" }, { kind: "partial", range: { start: 0, end: 99 } }],
    [{ range: "bytes=900-" }, { kind: "partial", range: { start: 900, end: 999 } }],
    [{ range: "bytes=-10" }, { kind: "partial", range: { start: 990, end: 999 } }],
    [{ range: "bytes=-5000" }, { kind: "partial", range: { start: 0, end: 999 } }],
    [{ range: "bytes=990-5000" }, { kind: "partial", range: { start: 990, end: 999 } }],
    [{ range: "bytes=1000-" }, { kind: "unsatisfiable" }],
    // last < first is not a valid range-spec: ignored, whole file (not 416), even past the end.
    [{ range: "bytes=5-1" }, { kind: "full" }],
    [{ range: "bytes=50-10" }, { kind: "full" }],
    [{ range: "bytes=2000-1500" }, { kind: "full" }],
    [{ range: "bytes=-0" }, { kind: "unsatisfiable" }],
    [{ range: "bytes=0-1,5-6" }, { kind: "full" }],
    [{ range: "items=0-1" }, { kind: "full" }],
    [{ range: "bytes=0-9", "if-range": etagOf(FILE) }, { kind: "partial", range: { start: 0, end: 9 } }],
    [{ range: "bytes=0-9", "if-range": '"stale"' }, { kind: "full" }],
  ];
  for (const [fields, want] of cases) assert.deepEqual(rangeOf(h(fields), FILE), want, JSON.stringify(fields));
  assert.deepEqual(rangeOf(h({ range: "bytes=-1" }), { ...FILE, size: 0 }), { kind: "unsatisfiable" });
});

test("static conditional: parseHttpDate takes the three HTTP-date forms and nothing else", () => {
  const when = Date.UTC(1994, 10, 6, 8, 49, 37);
  const now = Date.UTC(2025, 0, 1);
  const good: [string, number][] = [
    ["Sun, 06 Nov 1994 08:49:37 GMT", when],
    ["Sunday, 06-Nov-94 08:49:37 GMT", when],
    ["Sun Nov  6 08:49:37 1994", when],
    ["Thursday, 01-Jan-26 00:00:00 GMT", Date.UTC(2026, 0, 1)],
    ["Tue, 29 Feb 2000 23:59:59 GMT", Date.UTC(2000, 1, 29, 23, 59, 59)],
  ];
  for (const [text, ms] of good) assert.equal(parseHttpDate(text, now), ms, text);
  const bad = [
    "", "not a date", "1", "2024", "2024-03-01T12:00:00Z", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 November 1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT",
    "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT, extra",
  ];
  for (const text of bad) assert.equal(parseHttpDate(text, now), undefined, JSON.stringify(text));
});

test("static conditional: an If-Modified-Since in the future or not an HTTP-date is ignored", () => {
  const now = FILE.mtimeMs + 3_600_000;
  const at = (ms: number) => new Date(ms).toUTCString();
  const cases: [string, boolean][] = [
    [at(FILE.mtimeMs), true],
    [at(now), true],
    [at(now - 1000), true],
    [at(now + 1000), false],
    [at(now + 86_400_000 * 365), false],
    [at(FILE.mtimeMs - 1000), false],
    ["2023", false],
    [String(FILE.mtimeMs), false],
    [new Date(now).toISOString(), false],
  ];
  for (const [ims, want] of cases) assert.equal(notModified(h({ "if-modified-since": ims }), FILE, now), want, ims);
});

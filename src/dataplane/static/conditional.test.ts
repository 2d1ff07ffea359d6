/** Static validators, conditional requests and byte ranges: table tests of the pure functions. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { etagOf, lastModifiedOf, notModified, rangeOf } from "./conditional.ts";

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
    [{ range: "bytes=50-10" }, { kind: "unsatisfiable" }],
    [{ range: "bytes=-0" }, { kind: "unsatisfiable" }],
    [{ range: "bytes=0-1,5-6" }, { kind: "full" }],
    [{ range: "items=0-1" }, { kind: "full" }],
    [{ range: "bytes=0-9", "if-range": etagOf(FILE) }, { kind: "partial", range: { start: 0, end: 9 } }],
    [{ range: "bytes=0-9", "if-range": '"stale"' }, { kind: "full" }],
  ];
  for (const [fields, want] of cases) assert.deepEqual(rangeOf(h(fields), FILE), want, JSON.stringify(fields));
  assert.deepEqual(rangeOf(h({ range: "bytes=-1" }), { ...FILE, size: 0 }), { kind: "unsatisfiable" });
});

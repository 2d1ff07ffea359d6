/**
 * The byte path of request heads against the string path: every table case
 * of ../_cases/request.ts (one-shot, byte by byte with one scan, on a fresh and
 * on a reused view), limits, offsets, and the string caches.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ACCEPT, EARLY, REJECT } from "../_cases/request.ts";
import { encodeLatin1 } from "../chars.ts";
import { DEFAULT_LIMITS, type HeadLimits, HeadScan } from "../head.ts";
import { parseRequestHead } from "../request.ts";
import { framed, head } from "../_testing.ts";
import { feedRequest, sameRequest } from "./_compare.ts";
import { parseRequestInto, RequestView, toRequestHead } from "./request_view.ts";
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE } from "./view.ts";

const shared = new RequestView();
const ALL: Array<[string, string]> = [...ACCEPT, ...REJECT, ...EARLY].map(([name, raw]) => [name, raw]);

test("wire request: every table case gives the string path's outcome (fresh view)", () => {
  for (const [, raw] of ALL) sameRequest(raw);
});

test("wire request: every table case gives the string path's outcome on one reused view, forwards and backwards", () => {
  for (const [, raw] of ALL) sameRequest(raw, shared);
  for (const [, raw] of [...ALL].reverse()) sameRequest(raw, shared);
});

test("wire request: accepted cases are ok and rejected ones carry the table's status", () => {
  for (const [name, raw] of ACCEPT) assert.equal(sameRequest(raw).kind, "ok", name);
  for (const [name, raw, status] of [...REJECT, ...EARLY]) {
    const r = sameRequest(raw);
    assert.equal(r.kind === "error" && r.status, status, name);
  }
});

test("wire request: fed byte by byte with one scan, every table case ends as in one piece", () => {
  for (const [name, raw] of ALL) {
    const { buf, start, end } = framed(raw);
    const once = parseRequestHead(buf, start, end);
    const last = feedRequest(raw, shared);
    if (once.kind === "ok") assert.deepEqual(last, { kind: "ok", length: once.length, head: once.head }, name);
    else if (once.kind === "error") assert.deepEqual(last, { kind: "error", status: once.status, reason: once.reason }, name);
    else assert.equal(last.kind, "incomplete", name);
  }
});

test("wire request: every proper prefix of an accepted head is incomplete and leaves the scan resumable", () => {
  for (const [name, raw] of ACCEPT) {
    const { buf, start } = framed(raw);
    for (let cut = 0; cut < raw.length; cut++) {
      assert.equal(parseRequestInto(shared, buf, start, start + cut), 0, `${name} @${cut}`);
    }
  }
});

const SMALL: HeadLimits = { maxHeadBytes: 128, maxHeaders: 4, maxTargetBytes: 32 };

test("wire request: limits give the same 431 and 414 as the string path", () => {
  const cases: Array<[string, HeadLimits]> = [
    [head("GET / HTTP/1.1", "Host: a", ...Array.from({ length: 100 }, (_, i) => `X-${i}: ${i}`)), DEFAULT_LIMITS],
    [head("GET / HTTP/1.1", "Host: a", "A: 1", "B: 2", "C: 3"), SMALL],
    ["GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD", SMALL],
    [head("GET / HTTP/1.1", "Host: a", `X: ${"v".repeat(16384 - 32)}`), DEFAULT_LIMITS],
    [`GET / HTTP/1.1\r\nHost: a\r\nX: ${"v".repeat(16384)}`, DEFAULT_LIMITS],
    [head(`GET /${"a".repeat(8191)} HTTP/1.1`, "Host: a"), DEFAULT_LIMITS],
    [head(`GET /${"a".repeat(8192)} HTTP/1.1`, "Host: a"), DEFAULT_LIMITS],
    [`GET /${"a".repeat(32)}`, SMALL],
    [head("GET / HTTP/1.1", "Host: a", `X: ${"v".repeat(120)}`), SMALL],
  ];
  for (const [raw, limits] of cases) {
    sameRequest(raw, new RequestView(), limits);
    sameRequest(raw, shared, limits);
  }
});

test("wire request: a larger maxHeaders than the initial table grows it", () => {
  const limits = { ...DEFAULT_LIMITS, maxHeaders: 300 };
  const raw = head("GET / HTTP/1.1", "Host: a", ...Array.from({ length: 250 }, (_, i) => `X-${i}: ${i}`));
  assert.equal(sameRequest(raw, shared, limits).kind, "ok");
});

test("wire request: pipelined heads one after the other with one scan; spans point into the buffer", () => {
  const a = head("POST /a HTTP/1.1", "Host: a", "Content-Length: 5");
  const b = head("GET /b HTTP/1.1", "Host: b");
  const bytes = encodeLatin1(a + "hello" + b);
  const scan = new HeadScan();
  const view = new RequestView();
  assert.equal(parseRequestInto(view, bytes, 0, 10, DEFAULT_LIMITS, scan), 0);
  assert.equal(parseRequestInto(view, bytes, 0, bytes.length, DEFAULT_LIMITS, scan), a.length);
  assert.deepEqual([view.target, view.body, view.contentLength], ["/a", BODY_LENGTH, 5]);
  const at = a.length + 5;
  assert.equal(parseRequestInto(view, bytes, at, bytes.length, DEFAULT_LIMITS, scan), b.length);
  assert.deepEqual([view.target, view.host, view.body, view.targetStart], ["/b", "b", BODY_NONE, at + 4]);
});

test("wire request: a resumed scan survives the bytes moving with start", () => {
  const raw = head("POST /x HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "X-Long: abcdef");
  const scan = new HeadScan();
  const view = new RequestView();
  assert.equal(parseRequestInto(view, encodeLatin1(`JUNK${raw}`), 4, 34, DEFAULT_LIMITS, scan), 0);
  const moved = encodeLatin1(raw);
  assert.equal(parseRequestInto(view, moved, 0, moved.length, DEFAULT_LIMITS, scan), raw.length);
  assert.equal(view.body, BODY_CHUNKED);
});

test("wire request: target, Host and uncommon methods are reused while their bytes repeat", () => {
  const view = new RequestView();
  const one = encodeLatin1(head("PURGE /same?q=1 HTTP/1.1", "Host: example.com"));
  const two = encodeLatin1(`xx${head("PURGE /same?q=1 HTTP/1.1", "Host: example.com", "X: y")}`);
  parseRequestInto(view, one, 0, one.length);
  const { method, target, host } = view;
  parseRequestInto(view, two, 2, two.length);
  assert.ok(view.method === method && view.target === target && view.host === host);
  const three = encodeLatin1(head("GET /other HTTP/1.1", "Host: example.org"));
  parseRequestInto(view, three, 0, three.length);
  assert.deepEqual([view.method, view.target, view.host], ["GET", "/other", "example.org"]);
  assert.deepEqual(toRequestHead(view, three), (parseRequestHead(three, 0, three.length) as { head: unknown }).head);
});

test("wire request: Connection options are flags and spans", () => {
  const raw = head("GET / HTTP/1.0", "Connection: X-Foo, , Keep-Alive", "connection: UPGRADE,close");
  const { buf, start, end } = framed(raw);
  const view = new RequestView();
  assert.equal(parseRequestInto(view, buf, start, end), raw.length);
  assert.deepEqual([view.connClose, view.connKeepAlive, view.connUpgrade, view.tokenCount, view.keepAlive], [true, true, true, 4, false]);
  assert.deepEqual(toRequestHead(view, buf).connectionTokens, ["x-foo", "keep-alive", "upgrade", "close"]);
});

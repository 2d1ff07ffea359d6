/**
 * The byte path of response heads against the string path: every table case
 * of ../_cases/response.ts (one-shot, byte by byte, fresh and reused views),
 * limits, offsets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ACCEPT, REJECT } from "../_cases/response.ts";
import { encodeLatin1 } from "../chars.ts";
import { DEFAULT_LIMITS } from "../head.ts";
import { parseResponseHead } from "../response.ts";
import { framed, head } from "../_testing.ts";
import { feedResponse, sameResponse } from "./_compare.ts";
import { parseResponseInto, ResponseView } from "./response_view.ts";
import { BODY_CLOSE, BODY_LENGTH, BODY_NONE } from "./view.ts";

const METHODS = ["GET", "HEAD", "CONNECT", "POST", "PURGE"];
const shared = new ResponseView();
const ALL: Array<[string, string, string]> = [
  ...ACCEPT.map(([name, raw, method]): [string, string, string] => [name, raw, method]),
  ...REJECT.map(([name, raw]): [string, string, string] => [name, raw, name.includes("HEAD") ? "HEAD" : "GET"]),
];

test("wire response: every table case gives the string path's outcome, for its method and for others", () => {
  for (const [, raw, method] of ALL) {
    sameResponse(raw, method);
    for (const m of METHODS) sameResponse(raw, m, shared);
  }
});

test("wire response: accepted cases are ok, rejected ones 502", () => {
  for (const [name, raw, method] of ACCEPT) assert.equal(sameResponse(raw, method, shared).kind, "ok", name);
  for (const [name, raw] of REJECT) {
    const r = sameResponse(raw, name.includes("HEAD") ? "HEAD" : "GET", shared);
    assert.equal(r.kind === "error" && r.status, 502, name);
  }
});

test("wire response: fed byte by byte with one scan, every table case ends as in one piece", () => {
  for (const [name, raw, method] of ALL) {
    const { buf, start, end } = framed(raw);
    const once = parseResponseHead(buf, start, end, DEFAULT_LIMITS, method);
    const last = feedResponse(raw, method, shared);
    if (once.kind === "ok") assert.deepEqual(last, { kind: "ok", length: once.length, head: once.head }, name);
    else if (once.kind === "error") assert.deepEqual(last, { kind: "error", status: once.status, reason: once.reason }, name);
    else assert.equal(last.kind, "incomplete", name);
  }
});

test("wire response: limits give the same 502s", () => {
  const small = { ...DEFAULT_LIMITS, maxHeadBytes: 64 };
  sameResponse(head("HTTP/1.1 200 OK", ...Array.from({ length: 101 }, (_, i) => `X-${i}: ${i}`)), "GET", shared);
  sameResponse(head("HTTP/1.1 200 OK", ...Array.from({ length: 100 }, (_, i) => `X-${i}: ${i}`)), "GET", shared);
  sameResponse(`HTTP/1.1 200 OK\r\nX: ${"v".repeat(60)}`, "GET", shared, small);
  sameResponse(`HTTP/1.1 200 OK\r\nX: ${"v".repeat(20)}`, "GET", shared, small);
});

test("wire response: a head followed by its body and the next response; reason is a span", () => {
  const first = head("HTTP/1.1 200 Fine Thanks", "Content-Length: 2");
  const bytes = encodeLatin1(first + "hi" + head("HTTP/1.1 204", "Connection: close"));
  const view = new ResponseView();
  assert.equal(parseResponseInto(view, bytes, 0, bytes.length, DEFAULT_LIMITS, "GET"), first.length);
  assert.deepEqual([view.status, view.body, view.contentLength, view.reasonStart, view.reasonEnd], [200, BODY_LENGTH, 2, 13, 24]);
  parseResponseInto(view, bytes, first.length + 2, bytes.length, DEFAULT_LIMITS, "GET");
  assert.deepEqual([view.status, view.body, view.keepAlive, view.reasonEnd - view.reasonStart], [204, BODY_NONE, false, 0]);
});

test("wire response: framing by method and status", () => {
  const view = new ResponseView();
  const body = (text: string, method: string) => {
    const { buf, start, end } = framed(text);
    assert.ok(parseResponseInto(view, buf, start, end, DEFAULT_LIMITS, method) > 0);
    return [view.body, view.contentLength, view.tunnel];
  };
  assert.deepEqual(body(head("HTTP/1.1 200 OK"), "GET"), [BODY_CLOSE, -1, false]);
  assert.deepEqual(body(head("HTTP/1.1 200 OK", "Content-Length: 7"), "HEAD"), [BODY_NONE, 7, false]);
  assert.deepEqual(body(head("HTTP/1.1 200 OK", "Content-Length: x"), "CONNECT"), [BODY_NONE, -1, true]);
});

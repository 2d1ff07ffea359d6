/**
 * Tests of the proxy's own error responses and status texts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { errorResponse, plainResponse, STATUS_TEXT } from "./errors.ts";
import { parseResponseHead } from "./response.ts";
import { DEFAULT_LIMITS } from "./head.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("errorResponse: a complete short response that closes", () => {
  const out = text(errorResponse(400)).replace(/\r\nDate: [^\r]+\r\n/, "\r\nDate: X\r\n");
  assert.equal(
    out,
    "HTTP/1.1 400 Bad Request\r\nServer: spliced\r\nDate: X\r\nContent-Type: text/plain; charset=utf-8\r\n" +
      "Content-Length: 16\r\nConnection: close\r\n\r\n400 Bad Request\n",
  );
});

test("plainResponse: keep-alive has no Connection field; headOnly keeps Content-Length and drops the body", () => {
  const kept = text(plainResponse(404, "no route", { keepAlive: true, fields: { Allow: "GET" } }));
  assert.doesNotMatch(kept, /Connection:/);
  assert.match(kept, /\r\nAllow: GET\r\n/);
  assert.ok(kept.endsWith("\r\n\r\n404 Not Found\nno route\n"));
  const head = text(plainResponse(404, "no route", { keepAlive: true, headOnly: true }));
  assert.ok(head.endsWith("Content-Length: 23\r\n\r\n"), head);
});

test("errorResponse: the detail is a second line; Content-Length counts UTF-8 bytes", () => {
  const out = text(errorResponse(502, "upstream café refused"));
  assert.ok(out.endsWith("\r\n\r\n502 Bad Gateway\nupstream café refused\n"));
  const body = "502 Bad Gateway\nupstream café refused\n";
  assert.ok(out.includes(`Content-Length: ${new TextEncoder().encode(body).length}\r\n`));
});

test("errorResponse: control characters in the detail become spaces", () => {
  const out = text(errorResponse(400, "bad\r\nSet-Cookie: x\0"));
  assert.ok(out.endsWith("\n400 Bad Request\nbad  Set-Cookie: x\n"));
});

test("errorResponse: every error status we name parses as a response with its body length", () => {
  const statuses = Object.keys(STATUS_TEXT).map(Number).filter((s) => s >= 400);
  assert.ok(statuses.length >= 15);
  for (const status of statuses) {
    const bytes = errorResponse(status, "detail");
    const r = parseResponseHead(bytes, 0, bytes.length, DEFAULT_LIMITS, "GET");
    assert.equal(r.kind, "ok", String(status));
    if (r.kind !== "ok") continue;
    assert.equal(r.head.status, status);
    assert.equal(r.head.reason, STATUS_TEXT[status]);
    assert.equal(r.head.keepAlive, false);
    assert.deepEqual(r.head.framing, { kind: "length", length: bytes.length - r.length });
  }
});

test("errorResponse: RangeError for a status that is no error", () => {
  for (const status of [200, 399, 600, 404.5, Number.NaN]) {
    assert.throws(() => errorResponse(status), RangeError, String(status));
  }
});

test("STATUS_TEXT names the statuses the proxy uses", () => {
  for (const status of [100, 101, 200, 206, 304, 400, 403, 404, 405, 408, 413, 414, 416, 431, 500, 501, 502, 503, 504, 505]) {
    assert.equal(typeof STATUS_TEXT[status], "string", String(status));
  }
  assert.equal(STATUS_TEXT[431], "Request Header Fields Too Large");
  assert.equal(STATUS_TEXT[413], "Content Too Large");
});

/**
 * RequestId on parsed heads: which incoming values are kept (the first field
 * of the name, any case; 1-200 visible ASCII bytes), the form of new ids,
 * and the field it appends to a written head.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRequestInto, RequestView } from "../http/wire/mod.ts";
import { MAX_ID_LENGTH, RequestId } from "./request_id.ts";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** The id `RequestId` takes from a request carrying `fields`. */
function idFor(fields: string, header = "X-Request-ID"): string {
  const buf = latin1(`GET / HTTP/1.1\r\nHost: h\r\n${fields}\r\n`);
  const view = new RequestView();
  assert.ok(parseRequestInto(view, buf, 0, buf.length) > 0, "parsed");
  const id = new RequestId(header);
  id.take(view, buf);
  return id.text();
}

test("RequestId: keeps a valid incoming id, from the first field of the name in any case", () => {
  assert.equal(idFor("X-Request-ID: abc\r\n"), "abc");
  assert.equal(idFor("x-request-id:   spaced-around  \r\n"), "spaced-around", "OWS is not part of the value");
  assert.equal(idFor("X-REQUEST-ID: first\r\nX-Request-Id: second\r\n"), "first");
  assert.equal(idFor(`X-Request-ID: ${"a".repeat(MAX_ID_LENGTH)}\r\n`), "a".repeat(MAX_ID_LENGTH));
  assert.equal(idFor("X-Trace: t-1\r\n", "x-trace"), "t-1");
  assert.equal(idFor("X-Request-IDs: no\r\nX-Request-ID: yes\r\n"), "yes", "a longer name is another field");
});

test("RequestId: replaces a missing, empty, too long or non-visible id with 32 hex digits", () => {
  const fresh = /^[0-9a-f]{32}$/;
  for (const fields of ["", "X-Request-ID:\r\n", `X-Request-ID: ${"a".repeat(MAX_ID_LENGTH + 1)}\r\n`, "X-Request-ID: a b\r\n", "X-Request-ID: caf\xe9\r\n"]) {
    assert.match(idFor(fields), fresh, JSON.stringify(fields));
  }
  const id = new RequestId("X-Request-ID");
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) { // past several refills of the random pool
    id.take(null, new Uint8Array(0));
    assert.match(id.text(), fresh);
    seen.add(id.text());
  }
  assert.equal(seen.size, 5000);
});

test("RequestId: appends its field before the head's empty line, or says the buffer is too small", () => {
  const id = new RequestId("X-Request-ID");
  const view = new RequestView();
  const req = latin1("GET / HTTP/1.1\r\nX-Request-ID: r-7\r\n\r\n");
  parseRequestInto(view, req, 0, req.length);
  id.take(view, req);
  const head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const out = new Uint8Array(64);
  out.set(latin1(head));
  const end = id.appendTo(out, head.length);
  assert.equal(String.fromCharCode(...out.subarray(0, end)), "GET / HTTP/1.1\r\nHost: h\r\nX-Request-ID: r-7\r\n\r\n");
  const small = new Uint8Array(head.length + 10);
  small.set(latin1(head));
  assert.equal(id.appendTo(small, head.length), -1);
});

/** Hash keys read from parsed request heads: header, cookie, path, client address; missing keys. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRequestInto, RequestView } from "../http/wire/mod.ts";
import { addressKey, hashKeyProblem, KEY_COOKIE, KEY_HEADER, parseHashKey, requestKey } from "./hashkey.ts";
import { hashString } from "./hash.ts";
import { NO_KEY } from "./picker.ts";

function keyOf(hashKey: string, head: string, path = "/"): number {
  const buf = new TextEncoder().encode(head);
  const view = new RequestView();
  assert.ok(parseRequestInto(view, buf, 0, buf.length) > 0, "head parses");
  return requestKey(parseHashKey(hashKey), view, buf, path, addressKey("10.1.2.3"));
}

const get = (fields: string) => `GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`;

test("hashkey: a header's value, any case of its name; another value gives another key; missing is NO_KEY", () => {
  const a = keyOf("header:X-User", get("x-user: alice\r\n"));
  assert.equal(keyOf("header:X-User", get("X-USER:   alice  \r\n")), a);
  assert.notEqual(keyOf("header:X-User", get("X-User: bob\r\n")), a);
  assert.equal(keyOf("header:X-User", get("X-Other: alice\r\n")), NO_KEY);
  assert.equal(parseHashKey("header:X-User").kind, KEY_HEADER);
});

test("hashkey: a cookie's value among others and across Cookie lines; a prefix of the name does not match", () => {
  const k = keyOf("cookie:sid", get("Cookie: a=1; sid=xyz; b=2\r\n"));
  assert.equal(k, keyOf("cookie:sid", get("Cookie: sidx=no\r\nCookie: sid=xyz\r\n")));
  assert.equal(k, keyOf("cookie:sid", get('Cookie: sid="xyz"\r\n')));
  assert.notEqual(k, keyOf("cookie:sid", get("Cookie: sid=abc\r\n")));
  assert.equal(keyOf("cookie:sid", get("Cookie: sidx=xyz; xsid=1\r\n")), NO_KEY);
  assert.equal(keyOf("cookie:sid", get("")), NO_KEY);
  assert.equal(parseHashKey("cookie:sid").kind, KEY_COOKIE);
});

test("hashkey: path without the query; clientIp is the session's address key", () => {
  assert.equal(keyOf("path", get(""), "/a/b?x=1"), hashString("/a/b"));
  assert.equal(keyOf("path", get(""), "/a/b"), hashString("/a/b"));
  assert.equal(keyOf("clientIp", get("")), addressKey("10.1.2.3"));
});

test("hashkey: the forms a config may use, per listener mode", () => {
  for (const ok of ["clientIp", "path", "header:X-Id", "cookie:session_id"]) assert.equal(hashKeyProblem(ok, "http"), undefined, ok);
  assert.equal(hashKeyProblem("clientIp", "tcp"), undefined);
  assert.match(hashKeyProblem("path", "tcp")!, /tcp listener can hash only "clientIp"/);
  for (const bad of ["ip", "header:", "cookie:a b", "header:X:Y"]) assert.match(hashKeyProblem(bad, "http")!, /expected "clientIp"/);
});

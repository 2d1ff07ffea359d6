/**
 * The head writers against ../rewrite.ts: every table case of
 * ../_cases/rewrite.ts byte for byte, a matrix of every option, the plan, and
 * output buffers too small at every size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CLIENT, DOWN, PLANS, UP, UPSTREAM } from "../_cases/rewrite.ts";
import { encodeLatin1 } from "../chars.ts";
import { DEFAULT_LIMITS, type HttpVersion } from "../head.ts";
import type { ClientResponseOptions, UpstreamRequestOptions } from "../rewrite.ts";
import { framed, head } from "../_testing.ts";
import { sameClientHead, sameUpstreamHead, writtenRequest, writtenResponse } from "./_compare.ts";
import { compileRequestOptions, compileResponseOptions } from "./options.ts";
import { parseRequestInto, RequestView } from "./request_view.ts";
import { parseResponseInto, ResponseView } from "./response_view.ts";
import { writeClientResponse, writeUpstreamRequest } from "./writer.ts";

type Edits = Pick<UpstreamRequestOptions, "setHeaders" | "removeHeaders">;

const reqView = new RequestView();
const respView = new ResponseView();

for (const [name, input, opts, want] of UPSTREAM) {
  test(`wire upstream head: ${name}`, () => {
    assert.deepEqual(writtenRequest(input, opts, reqView), encodeLatin1(want));
  });
}

for (const [name, input, method, opts, want] of CLIENT) {
  test(`wire client head: ${name}`, () => {
    assert.deepEqual(writtenResponse(input, method, opts, respView), encodeLatin1(want));
  });
}

test("wire client plan: every table case", () => {
  for (const [, input, method, opts] of PLANS) sameClientHead(input, method, { ...DOWN, ...opts }, respView);
});

const REQUESTS = [
  ...UPSTREAM.map(([, input]) => input),
  head("GET /api HTTP/1.1", "Host: example.com"),
  head("GET /api?x HTTP/1.1", "Host: example.com", "Connection: close, via, x-forwarded-for, Foo", "Via: 1.0 a", "X-Forwarded-For: 1.1.1.1", "Foo: 1", "Close: 2"),
  head("GET /apix/y HTTP/1.1", "Host: ", "X-Forwarded-For:", "X-Forwarded-For: a", "x-forwarded-for:", "Via:", "Expect: 100-continue"),
  head("GET http://example.com:8080/api/x HTTP/1.0", "Upgrade: h2c", "Connection: upgrade"),
  head("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"),
  head("OPTIONS * HTTP/1.1", "Host: a", "X-Remove: 1", "x-set: 2", "X-Route: 3"),
  head("PUT /api/ HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Upgrade: websocket", "upgrade: other/1", "Connection: Upgrade", `X-Long: ${"l".repeat(300)}`),
];

const REQUEST_OPTIONS: UpstreamRequestOptions[] = (() => {
  const out: UpstreamRequestOptions[] = [];
  for (const close of [false, true]) {
    for (const prefix of [undefined, "/api", "/api/", "/", "//", "/apix"]) {
      for (const edits of <Edits[]> [
        {},
        { setHeaders: { "X-Route": "r", Host: "h", Via: "v" }, removeHeaders: ["x-remove", "X-Forwarded-Proto"] },
        { setHeaders: { "X-Forwarded-For": "f", "x-forwarded-host": "g", "123": "n", Connection: "no" }, removeHeaders: ["HOST", "via", "upgrade", "foo"] },
        { removeHeaders: ["X-Forwarded-For", "Expect", "X-Set"] },
      ]) {
        out.push({ ...UP, close, pathPrefixStrip: prefix, defaultHost: close ? "backend:1" : undefined, proto: close ? "https" : "http", ...edits });
      }
    }
  }
  return out;
})();

test("wire upstream head: every request × every option combination is byte for byte the string path's", () => {
  for (const raw of REQUESTS) for (const opts of REQUEST_OPTIONS) sameUpstreamHead(raw, opts, reqView);
});

const RESPONSES: Array<[string, string]> = [
  ...CLIENT.map(([, input, method]): [string, string] => [input, method]),
  ...PLANS.map(([, input, method]): [string, string] => [input, method]),
  [head("HTTP/1.1 599", "Content-Length: 3"), "GET"],
  [head("HTTP/1.1 200 OK", "Connection: via, x-a, close", "Via: 1.1 a", "X-A: 1", "X-B: 2", "Content-Length: 1"), "GET"],
  [head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "upgrade: x", "Connection: upgrade"), "GET"],
  [head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Trailer: X", "Set-Cookie: a", "set-cookie: b"), "HEAD"],
  [head("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 0", "Via:", "Via: 1.0 x"), "GET"],
  [head("HTTP/1.1 103 Early Hints", "Link: <a>"), "GET"],
  [head("HTTP/1.1 200 Connected", "Upgrade: x", "Connection: upgrade"), "CONNECT"],
];

const RESPONSE_OPTIONS: ClientResponseOptions[] = (() => {
  const out: ClientResponseOptions[] = [];
  for (const clientVersion of ["HTTP/1.1", "HTTP/1.0"] as HttpVersion[]) {
    for (const keepAlive of [true, false]) {
      for (const forceClose of [undefined, false, true]) {
        for (const edits of <Edits[]> [
          {},
          { setHeaders: { "X-Frame-Options": "DENY", "Content-Length": "1", Via: "me" }, removeHeaders: ["content-type", "X-B"] },
          { removeHeaders: ["via", "set-cookie", "Link"] },
        ]) out.push({ ...DOWN, clientVersion, keepAlive, forceClose, ...edits });
      }
    }
  }
  return out;
})();

test("wire client head: every response × every option combination is byte for byte the string path's, plan too", () => {
  for (const [raw, method] of RESPONSES) for (const opts of RESPONSE_OPTIONS) sameClientHead(raw, method, opts, respView);
});

test("wire writers: -1 for every output too small, the head for one that fits, nothing written past the end", () => {
  const { buf, start, end } = framed(REQUESTS[1]);
  assert.ok(parseRequestInto(reqView, buf, start, end) > 0);
  const opts = compileRequestOptions({ ...UP, setHeaders: { "X-A": "b" } });
  const full = new Uint8Array(4096);
  const size = writeUpstreamRequest(reqView, buf, full, 0, opts);
  for (let n = 0; n < size; n++) {
    const out = new Uint8Array(n + 2);
    assert.equal(writeUpstreamRequest(reqView, buf, out.subarray(0, n), 0, opts), -1, `${n}`);
    assert.deepEqual([...out.subarray(n)], [0, 0]);
  }
  assert.equal(writeUpstreamRequest(reqView, buf, new Uint8Array(size + 7), 7, opts), size + 7);
  const r = framed(CLIENT[0][1]);
  assert.ok(parseResponseInto(respView, r.buf, r.start, r.end, DEFAULT_LIMITS, "GET") > 0);
  const down = compileResponseOptions(DOWN);
  const rsize = writeClientResponse(respView, r.buf, full, 0, down, "HTTP/1.1", true);
  for (let n = 0; n < rsize; n++) assert.equal(writeClientResponse(respView, r.buf, new Uint8Array(n), 0, down, "HTTP/1.1", true), -1);
  assert.equal(writeClientResponse(respView, r.buf, full, 4096 - rsize, down, "HTTP/1.1", true), 4096);
  assert.equal(writeClientResponse(respView, r.buf, full, 4097, down, "HTTP/1.1", true), -1);
});

test("wire options: edits are compiled once per setHeaders/removeHeaders pair", () => {
  const set = { "X-A": "1" }, remove = ["x-b"];
  assert.equal(compileRequestOptions({ ...UP, setHeaders: set, removeHeaders: remove }).edits, compileResponseOptions({ viaName: "v", setHeaders: set, removeHeaders: remove }).edits);
  assert.notEqual(compileResponseOptions({ viaName: "v", setHeaders: set }).edits, compileResponseOptions({ viaName: "v", setHeaders: set, removeHeaders: remove }).edits);
});

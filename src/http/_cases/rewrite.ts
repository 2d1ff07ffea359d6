/**
 * Test support, not part of the API: the head-rewrite case tables shared by
 * ../rewrite.test.ts (the string path) and ../wire/writer.test.ts (the byte
 * path), kept here so that no test file imports another (Deno would register
 * and run the imported file's tests a second time).
 *
 * @module
 */
import type { ClientResponseOptions, UpstreamRequestOptions } from "../rewrite.ts";
import { head } from "../_testing.ts";

/** Options for an upstream request from 10.0.0.1 over http. */
export const UP: UpstreamRequestOptions = { clientAddress: "10.0.0.1", proto: "http", viaName: "spliced" };

/** Options for a response to a kept HTTP/1.1 client. */
export const DOWN: ClientResponseOptions = { clientVersion: "HTTP/1.1", keepAlive: true, viaName: "spliced" };

/** The fields every UP-forwarded request gains. */
const FORWARDED = ["X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: http", "X-Forwarded-Host: example.com", "Via: 1.1 spliced"];

/** Upstream request heads: name, client head, options, the head sent upstream. */
export const UPSTREAM: Array<[name: string, input: string, opts: UpstreamRequestOptions, want: string]> = [
  ["a plain GET keeps its fields in order and gains X-Forwarded-* and Via",
    head("GET /a?b HTTP/1.1", "Host: example.com", "User-Agent: t", "Accept: */*"),
    UP,
    head("GET /a?b HTTP/1.1", "Host: example.com", "User-Agent: t", "Accept: */*", ...FORWARDED)],
  ["hop-by-hop fields and what Connection lists are removed",
    head("GET / HTTP/1.1", "Host: example.com", "Connection: keep-alive, X-Secret", "Keep-Alive: timeout=5",
      "Proxy-Connection: keep-alive", "TE: trailers", "Trailer: X-Sum", "Upgrade: websocket", "X-Secret: s", "X-Keep: k"),
    UP,
    head("GET / HTTP/1.1", "Host: example.com", "X-Keep: k", ...FORWARDED)],
  ["Connection cannot remove Host or Content-Length",
    head("POST / HTTP/1.1", "Host: example.com", "Connection: Host, Content-Length, Transfer-Encoding", "Content-Length: 5"),
    UP,
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 5", ...FORWARDED)],
  ["Content-Length is re-stated once from the framing",
    head("POST / HTTP/1.1", "Content-Length: 5, 5", "Host: example.com", "content-length: 5, 5"),
    UP,
    head("POST / HTTP/1.1", "Host: example.com", "Content-Length: 5", ...FORWARDED)],
  ["chunked framing is re-stated",
    head("POST / HTTP/1.1", "Host: example.com", "transfer-encoding: Chunked", "X-A: 1"),
    UP,
    head("POST / HTTP/1.1", "Host: example.com", "X-A: 1", "Transfer-Encoding: chunked", ...FORWARDED)],
  ["an upgrade keeps Upgrade and Connection: upgrade",
    head("GET /ws HTTP/1.1", "Host: example.com", "Connection: keep-alive, Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: k"),
    UP,
    head("GET /ws HTTP/1.1", "Host: example.com", "Sec-WebSocket-Key: k", "Upgrade: websocket", "Connection: upgrade", ...FORWARDED)],
  ["X-Forwarded-For and Via are appended to; X-Forwarded-Proto/-Host replaced",
    head("GET / HTTP/1.1", "X-Forwarded-For: 1.1.1.1", "Host: example.com", "x-forwarded-for: 2.2.2.2", "Via: 1.0 fred",
      "X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example"),
    UP,
    head("GET / HTTP/1.1", "Host: example.com", "X-Forwarded-For: 1.1.1.1, 2.2.2.2, 10.0.0.1", "X-Forwarded-Proto: http",
      "X-Forwarded-Host: example.com", "Via: 1.0 fred, 1.1 spliced")],
  ["HTTP/1.0 goes upstream as HTTP/1.1 with a Host; Via names 1.0",
    head("GET / HTTP/1.0", "Accept: */*"),
    { ...UP, defaultHost: "backend:8080", proto: "https" },
    head("GET / HTTP/1.1", "Accept: */*", "Host: backend:8080", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: https", "Via: 1.0 spliced")],
  ["HTTP/1.0 without Host or default gets an empty Host",
    head("GET / HTTP/1.0"),
    UP,
    head("GET / HTTP/1.1", "Host: ", "X-Forwarded-For: 10.0.0.1", "X-Forwarded-Proto: http", "Via: 1.0 spliced")],
  ["HTTP/1.0 absolute-form: Host from the target, target as sent",
    head("GET http://example.com/x HTTP/1.0"),
    UP,
    head("GET http://example.com/x HTTP/1.1", "Host: example.com", ...FORWARDED.slice(0, 3), "Via: 1.0 spliced")],
  ["close asks the upstream to close",
    head("GET / HTTP/1.1", "Host: example.com"),
    { ...UP, close: true },
    head("GET / HTTP/1.1", "Host: example.com", "Connection: close", ...FORWARDED)],
  ["route edits: set replaces (Host too), remove drops; framing and Connection untouchable",
    head("POST / HTTP/1.1", "Host: example.com", "User-Agent: t", "Content-Length: 2", "X-Route: client"),
    {
      ...UP,
      setHeaders: { "X-Route": "r1", Host: "internal", "Content-Length": "999", connection: "close" },
      removeHeaders: ["user-agent", "VIA", "host", "Transfer-Encoding", "Content-Length"],
    },
    head("POST / HTTP/1.1", "Content-Length: 2", ...FORWARDED.slice(0, 3), "X-Route: r1", "Host: internal")],
  ["prefix strip on origin-form",
    head("GET /api/users?id=1 HTTP/1.1", "Host: example.com"),
    { ...UP, pathPrefixStrip: "/api" },
    head("GET /users?id=1 HTTP/1.1", "Host: example.com", ...FORWARDED)],
  ["obs-text passes through byte for byte",
    head("GET / HTTP/1.1", "Host: example.com", "X-Name: caf\u00e9"),
    UP,
    head("GET / HTTP/1.1", "Host: example.com", "X-Name: caf\u00e9", ...FORWARDED)],
];

/** A 200 with a 5-byte body. */
const OK5 = head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5");

/** Client response heads: name, upstream head, request method, options, the head sent to the client. */
export const CLIENT: Array<[name: string, input: string, method: string, opts: ClientResponseOptions, want: string]> = [
  ["a 200 with a length to a kept HTTP/1.1 client", OK5, "GET", DOWN,
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Via: 1.1 spliced")],
  ["a kept HTTP/1.0 client gets Connection: keep-alive", OK5, "GET", { ...DOWN, clientVersion: "HTTP/1.0" },
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Connection: keep-alive", "Via: 1.1 spliced")],
  ["a client not kept gets Connection: close", OK5, "GET", { ...DOWN, keepAlive: false },
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Connection: close", "Via: 1.1 spliced")],
  ["forceClose", OK5, "GET", { ...DOWN, forceClose: true },
    head("HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5", "Connection: close", "Via: 1.1 spliced")],
  ["chunked to HTTP/1.1", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", DOWN,
    head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Via: 1.1 spliced")],
  ["chunked to HTTP/1.0: de-chunked, closed", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", { ...DOWN, clientVersion: "HTTP/1.0" },
    head("HTTP/1.1 200 OK", "Connection: close", "Via: 1.1 spliced")],
  ["read-until-close: the client is closed too", head("HTTP/1.0 200 OK", "X-A: 1"), "GET", DOWN,
    head("HTTP/1.1 200 OK", "X-A: 1", "Connection: close", "Via: 1.0 spliced")],
  ["hop-by-hop fields and what Connection lists are removed; Via appended",
    head("HTTP/1.1 200 OK", "Connection: keep-alive, X-Internal", "Keep-Alive: timeout=5", "X-Internal: 1", "Trailer: X-Sum",
      "Proxy-Connection: keep-alive", "Via: 1.1 cdn", "Content-Length: 0"),
    "GET", DOWN, head("HTTP/1.1 200 OK", "Content-Length: 0", "Via: 1.1 cdn, 1.1 spliced")],
  ["HEAD keeps the Content-Length it would have had", head("HTTP/1.1 200 OK", "Content-Length: 1000"), "HEAD", DOWN,
    head("HTTP/1.1 200 OK", "Content-Length: 1000", "Via: 1.1 spliced")],
  ["304 keeps its Content-Length", head("HTTP/1.1 304 Not Modified", "ETag: \"e\"", "Content-Length: 42"), "GET", DOWN,
    head("HTTP/1.1 304 Not Modified", "ETag: \"e\"", "Content-Length: 42", "Via: 1.1 spliced")],
  ["204 loses a Content-Length", head("HTTP/1.1 204 No Content", "Content-Length: 0"), "GET", DOWN,
    head("HTTP/1.1 204 No Content", "Via: 1.1 spliced")],
  ["100 Continue has no Connection field", head("HTTP/1.1 100 Continue"), "PUT", { ...DOWN, keepAlive: false },
    head("HTTP/1.1 100 Continue", "Via: 1.1 spliced")],
  ["101 keeps Upgrade with Connection: upgrade",
    head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: a"), "GET", DOWN,
    head("HTTP/1.1 101 Switching Protocols", "Sec-WebSocket-Accept: a", "Upgrade: websocket", "Connection: upgrade", "Via: 1.1 spliced")],
  ["CONNECT 200: no framing, no Connection", head("HTTP/1.1 200 Connection Established", "Content-Length: 0"), "CONNECT", DOWN,
    head("HTTP/1.1 200 Connection Established", "Via: 1.1 spliced")],
  ["426 keeps its Upgrade offer", head("HTTP/1.1 426 Upgrade Required", "Upgrade: TLS/1.2", "Connection: Upgrade", "Content-Length: 0"), "GET", DOWN,
    head("HTTP/1.1 426 Upgrade Required", "Content-Length: 0", "Upgrade: TLS/1.2", "Connection: upgrade", "Via: 1.1 spliced")],
  ["an empty reason is filled in", head("HTTP/1.1 404", "Content-Length: 0"), "GET", DOWN,
    head("HTTP/1.1 404 Not Found", "Content-Length: 0", "Via: 1.1 spliced")],
  ["route edits on a response", OK5, "GET",
    { ...DOWN, setHeaders: { "X-Frame-Options": "DENY", "Content-Length": "1" }, removeHeaders: ["content-type", "via"] },
    head("HTTP/1.1 200 OK", "Content-Length: 5", "X-Frame-Options: DENY")],
];

/** Response plans: name, upstream head, request method, options over DOWN, the plan. */
export const PLANS: Array<[name: string, input: string, method: string, opts: Partial<ClientResponseOptions>, want: object]> = [
  ["kept", OK5, "GET", {}, { send: true, keepAlive: true, dechunk: false }],
  ["not kept", OK5, "GET", { keepAlive: false }, { send: true, keepAlive: false, dechunk: false }],
  ["chunked to 1.0", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", { clientVersion: "HTTP/1.0" }, { send: true, keepAlive: false, dechunk: true }],
  ["close framing", head("HTTP/1.1 200 OK"), "GET", {}, { send: true, keepAlive: false, dechunk: false }],
  ["100 to 1.0 is dropped", head("HTTP/1.1 100 Continue"), "GET", { clientVersion: "HTTP/1.0" }, { send: false, keepAlive: true, dechunk: false }],
  ["101 becomes a tunnel", head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket"), "GET", {}, { send: true, keepAlive: false, dechunk: false }],
  ["upstream close does not close the client", head("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 1"), "GET", {}, { send: true, keepAlive: true, dechunk: false }],
];

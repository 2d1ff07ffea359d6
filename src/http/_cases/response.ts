/**
 * Test support, not part of the API: the response-parser case tables shared by
 * ../response.test.ts (the string path) and ../wire/response_view.test.ts (the
 * byte path), kept here so that no test file imports another (Deno would
 * register and run the imported file's tests a second time).
 *
 * @module
 */
import type { ResponseHead } from "../response.ts";
import { head } from "../_testing.ts";

/** Heads that parse: name, raw head, request method, the fields the parsed head must have. */
export const ACCEPT: Array<[name: string, raw: string, method: string, want: Partial<ResponseHead>]> = [
  ["200 with Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 5", "Content-Type: text/plain"), "GET", {
    version: "HTTP/1.1",
    status: 200,
    reason: "OK",
    headers: [["Content-Length", "5"], ["Content-Type", "text/plain"]],
    framing: { kind: "length", length: 5 },
    contentLength: 5,
    keepAlive: true,
    upgrade: undefined,
    tunnel: false,
    connectionTokens: [],
  }],
  ["empty reason after the SP", head("HTTP/1.1 200 ", "Content-Length: 0"), "GET", { reason: "" }],
  ["no SP and no reason (tolerated)", head("HTTP/1.1 200", "Content-Length: 0"), "GET", { reason: "", status: 200 }],
  ["reason with spaces, tabs and obs-text", head("HTTP/1.1 404 Not  Found\t\u00e9", "Content-Length: 0"), "GET", {
    reason: "Not  Found\t\u00e9",
  }],
  ["chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "GET", { framing: { kind: "chunked" }, keepAlive: true }],
  ["no length: read until close", head("HTTP/1.1 200 OK", "Content-Type: text/html"), "GET", {
    framing: { kind: "close" },
    keepAlive: false,
  }],
  ["HTTP/1.0 with Content-Length: not kept alive", head("HTTP/1.0 200 OK", "Content-Length: 2"), "GET", {
    version: "HTTP/1.0",
    framing: { kind: "length", length: 2 },
    keepAlive: false,
  }],
  ["HTTP/1.0 with keep-alive and Content-Length", head("HTTP/1.0 200 OK", "Connection: keep-alive", "Content-Length: 2"), "GET", {
    keepAlive: true,
  }],
  ["HTTP/1.0 without length: close", head("HTTP/1.0 200 OK", "Connection: keep-alive"), "GET", {
    framing: { kind: "close" },
    keepAlive: false,
  }],
  ["Connection: close", head("HTTP/1.1 200 OK", "Connection: close", "Content-Length: 2"), "GET", {
    keepAlive: false,
    connectionTokens: ["close"],
  }],
  ["identical duplicate Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 3", "Content-Length: 3"), "GET", {
    framing: { kind: "length", length: 3 },
  }],
  ["HEAD: no body whatever Content-Length says", head("HTTP/1.1 200 OK", "Content-Length: 1000"), "HEAD", {
    framing: { kind: "none" },
    contentLength: 1000,
    keepAlive: true,
  }],
  ["HEAD: no body with chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked"), "HEAD", { framing: { kind: "none" } }],
  ["HEAD: no body without a length (not close)", head("HTTP/1.1 200 OK"), "HEAD", { framing: { kind: "none" }, keepAlive: true }],
  ["204: no body", head("HTTP/1.1 204 No Content", "Content-Length: 10"), "GET", { framing: { kind: "none" }, keepAlive: true }],
  ["204 with chunked: no body", head("HTTP/1.1 204 No Content", "Transfer-Encoding: chunked"), "DELETE", { framing: { kind: "none" } }],
  ["304: no body, length kept", head("HTTP/1.1 304 Not Modified", "Content-Length: 42", "ETag: \"x\""), "GET", {
    framing: { kind: "none" },
    contentLength: 42,
  }],
  ["100 Continue", head("HTTP/1.1 100 Continue"), "PUT", { status: 100, framing: { kind: "none" }, tunnel: false }],
  ["103 Early Hints", head("HTTP/1.1 103 Early Hints", "Link: </a.css>; rel=preload"), "GET", { framing: { kind: "none" } }],
  ["101 Switching Protocols", head("HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade"), "GET", {
    status: 101,
    upgrade: "websocket",
    tunnel: true,
    framing: { kind: "none" },
    keepAlive: false,
  }],
  ["101 with Upgrade but without the connection option", head("HTTP/1.1 101 Switching Protocols", "Upgrade: h2c"), "GET", {
    upgrade: "h2c",
    tunnel: true,
  }],
  ["CONNECT 200: a tunnel; framing fields ignored (RFC 9112 §6.3)", head("HTTP/1.1 200 Connection established", "Content-Length: nonsense", "Transfer-Encoding: gzip"), "CONNECT", {
    tunnel: true,
    framing: { kind: "none" },
    contentLength: undefined,
    keepAlive: false,
  }],
  ["CONNECT 407: not a tunnel", head("HTTP/1.1 407 Proxy Authentication Required", "Content-Length: 3"), "CONNECT", {
    tunnel: false,
    framing: { kind: "length", length: 3 },
  }],
  ["426 keeps its Upgrade offer", head("HTTP/1.1 426 Upgrade Required", "Upgrade: TLS/1.2", "Connection: Upgrade", "Content-Length: 0"), "GET", {
    upgrade: "TLS/1.2",
    tunnel: false,
    keepAlive: true,
  }],
  ["Upgrade in a 200 without the connection option is ignored", head("HTTP/1.1 200 OK", "Upgrade: h2c", "Content-Length: 0"), "GET", {
    upgrade: undefined,
  }],
  ["status 599", head("HTTP/1.1 599 Whatever", "Content-Length: 0"), "GET", { status: 599 }],
];

/** Heads rejected with a 502: name, raw head. */
export const REJECT: Array<[name: string, raw: string]> = [
  ["Content-Length and Transfer-Encoding", head("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked")],
  ["Transfer-Encoding: gzip (only chunked accepted)", head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip")],
  ["Transfer-Encoding: gzip, chunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked")],
  ["Transfer-Encoding: chunked, identity", head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked, identity")],
  ["Transfer-Encoding: xchunked", head("HTTP/1.1 200 OK", "Transfer-Encoding: xchunked")],
  ["Transfer-Encoding in HTTP/1.0", head("HTTP/1.0 200 OK", "Transfer-Encoding: chunked")],
  ["CL+TE on a HEAD response", head("HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked")],
  ["Content-Length: +5", head("HTTP/1.1 200 OK", "Content-Length: +5")],
  ["Content-Length: -1", head("HTTP/1.1 200 OK", "Content-Length: -1")],
  ["Content-Length: 0x10", head("HTTP/1.1 200 OK", "Content-Length: 0x10")],
  ["Content-Length: 1 2", head("HTTP/1.1 200 OK", "Content-Length: 1 2")],
  ["differing Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 1", "Content-Length: 2")],
  ["huge Content-Length", head("HTTP/1.1 200 OK", "Content-Length: 123456789012345678901234567890")],
  ["bad Content-Length on a 304", head("HTTP/1.1 304 Not Modified", "Content-Length: x")],
  ["two-digit status", head("HTTP/1.1 20 OK", "Content-Length: 0")],
  ["four-digit status", head("HTTP/1.1 2000 OK", "Content-Length: 0")],
  ["status with a letter", head("HTTP/1.1 2x0 OK", "Content-Length: 0")],
  ["status below 100", head("HTTP/1.1 099 Odd", "Content-Length: 0")],
  ["status above 599", head("HTTP/1.1 600 Odd", "Content-Length: 0")],
  ["double space before the status", head("HTTP/1.1  200 OK", "Content-Length: 0")],
  ["lowercase http/1.1", head("http/1.1 200 OK", "Content-Length: 0")],
  ["HTTP/2", head("HTTP/2 200 OK", "Content-Length: 0")],
  ["HTTP/2.0", head("HTTP/2.0 200 OK", "Content-Length: 0")],
  ["HTTP/1.2", head("HTTP/1.2 200 OK", "Content-Length: 0")],
  ["no status line (HTTP/0.9 body)", "<html>hello</html>\r\n\r\n"],
  ["empty lines before the status line", "\r\n" + head("HTTP/1.1 200 OK", "Content-Length: 0")],
  ["control byte in the reason", head("HTTP/1.1 200 O\x01K", "Content-Length: 0")],
  ["bare LF after the status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"],
  ["LF-only terminator", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"],
  ["bare CR in the status line", "HTTP/1.1 200 OK\rX: 1\r\n\r\n"],
  ["space before a colon", head("HTTP/1.1 200 OK", "Content-Length : 0")],
  ["@ in a field name", head("HTTP/1.1 200 OK", "X-A@: 1", "Content-Length: 0")],
  ["NUL in a value", head("HTTP/1.1 200 OK", "X-A: \0", "Content-Length: 0")],
  ["obs-fold", head("HTTP/1.1 200 OK", "X-A: 1", " 2", "Content-Length: 0")],
  ["101 without Upgrade", head("HTTP/1.1 101 Switching Protocols", "Connection: upgrade")],
  ["101 in HTTP/1.0", head("HTTP/1.0 101 Switching Protocols", "Upgrade: websocket", "Connection: upgrade")],
  ["Connection option that is not a token", head("HTTP/1.1 200 OK", "Connection: a b", "Content-Length: 0")],
];

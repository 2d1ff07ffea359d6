/**
 * Test support, not part of the API: the request-parser case tables shared by
 * ../request.test.ts (the string path) and ../wire/request_view.test.ts (the
 * byte path), kept here so that no test file imports another (Deno would
 * register and run the imported file's tests a second time).
 *
 * @module
 */
import type { RequestHead } from "../request.ts";
import { head } from "../_testing.ts";

/** A minimal valid request head. */
export const GET = head("GET / HTTP/1.1", "Host: example.com");

/** Heads that parse: name, raw head, the fields the parsed head must have. */
export const ACCEPT: Array<[name: string, raw: string, want: Partial<RequestHead>]> = [
  ["simple GET", GET, {
    method: "GET",
    target: "/",
    targetForm: "origin",
    version: "HTTP/1.1",
    headers: [["Host", "example.com"]],
    host: "example.com",
    framing: { kind: "none" },
    keepAlive: true,
    upgrade: undefined,
    expectContinue: false,
    connectionTokens: [],
  }],
  ["names keep case and order, values lose OWS", head("GET /a HTTP/1.1", "host:example.com", "X-A:  v w  ", "x-b:\t1\t", "X-Empty:", "X-Url: http://a:b/c"), {
    headers: [["host", "example.com"], ["X-A", "v w"], ["x-b", "1"], ["X-Empty", ""], ["X-Url", "http://a:b/c"]],
    host: "example.com",
  }],
  ["every tchar in a field name", head("GET / HTTP/1.1", "Host: a", "!#$%&'*+-.^_`|~09AZaz: x"), {
    headers: [["Host", "a"], ["!#$%&'*+-.^_`|~09AZaz", "x"]],
  }],
  ["obs-text in a value is kept byte for byte (latin1)", head("GET / HTTP/1.1", "Host: a", "X-Name: caf\u00e9 \u00ff"), {
    headers: [["Host", "a"], ["X-Name", "caf\u00e9 \u00ff"]],
  }],
  ["other methods, any case (methods are tokens)", head("PURGE /x HTTP/1.1", "Host: a"), { method: "PURGE" }],
  ["lowercase method kept as sent", head("get / HTTP/1.1", "Host: a"), { method: "get" }],
  ["target with query and unusual visible characters", head("GET /a%20b|c{d}?x=[1]&y='z' HTTP/1.1", "Host: a"), {
    target: "/a%20b|c{d}?x=[1]&y='z'",
  }],
  ["Content-Length", head("POST /u HTTP/1.1", "Host: a", "Content-Length: 5"), { framing: { kind: "length", length: 5 } }],
  ["Content-Length: 0", head("POST /u HTTP/1.1", "Host: a", "Content-Length: 0"), { framing: { kind: "length", length: 0 } }],
  ["Content-Length with leading zeros", head("POST / HTTP/1.1", "Host: a", "Content-Length: 007"), { framing: { kind: "length", length: 7 } }],
  ["Content-Length 2^53-1", head("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740991"), {
    framing: { kind: "length", length: Number.MAX_SAFE_INTEGER },
  }],
  ["identical duplicate Content-Length lines", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "content-length: 5"), {
    framing: { kind: "length", length: 5 },
  }],
  ["Content-Length list of identical values", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 5,5"), {
    framing: { kind: "length", length: 5 },
  }],
  ["Transfer-Encoding: chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked"), { framing: { kind: "chunked" } }],
  ["Transfer-Encoding: CHUNKED (case-insensitive)", head("POST / HTTP/1.1", "Host: a", "transfer-encoding: CHUNKED"), {
    framing: { kind: "chunked" },
  }],
  ["Transfer-Encoding with an empty list element (RFC 9110 §5.6.1)", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: , chunked"), {
    framing: { kind: "chunked" },
  }],
  ["HTTP/1.0 without Host", head("GET / HTTP/1.0"), { version: "HTTP/1.0", host: undefined, keepAlive: false }],
  ["HTTP/1.0 with Connection: keep-alive", head("GET / HTTP/1.0", "Connection: Keep-Alive"), {
    keepAlive: true,
    connectionTokens: ["keep-alive"],
  }],
  ["HTTP/1.0 with Host and Content-Length", head("POST / HTTP/1.0", "Host: a", "Content-Length: 3"), {
    host: "a",
    framing: { kind: "length", length: 3 },
  }],
  ["HTTP/1.1 Connection: close", head("GET / HTTP/1.1", "Host: a", "Connection: close"), { keepAlive: false, connectionTokens: ["close"] }],
  ["Connection options over lines, lowercased, empty elements skipped", head("GET / HTTP/1.1", "Host: a", "Connection: X-Foo, , Keep-Alive", "Connection: CLOSE"), {
    keepAlive: false,
    connectionTokens: ["x-foo", "keep-alive", "close"],
  }],
  ["Upgrade with Connection: upgrade", head("GET /ws HTTP/1.1", "Host: a", "Connection: keep-alive, Upgrade", "Upgrade: websocket"), {
    upgrade: "websocket",
    keepAlive: true,
  }],
  ["Upgrade without the connection option is ignored", head("GET / HTTP/1.1", "Host: a", "Upgrade: websocket"), { upgrade: undefined }],
  ["Upgrade in HTTP/1.0 is ignored (RFC 9110 §7.8)", head("GET / HTTP/1.0", "Connection: upgrade", "Upgrade: websocket"), { upgrade: undefined }],
  ["Expect: 100-continue", head("PUT / HTTP/1.1", "Host: a", "Expect: 100-Continue", "Content-Length: 1"), { expectContinue: true }],
  ["Expect: 100-continue in HTTP/1.0 is ignored (RFC 9110 §10.1.1)", head("PUT / HTTP/1.0", "Expect: 100-continue"), { expectContinue: false }],
  ["other expectations are forwarded, not answered", head("PUT / HTTP/1.1", "Host: a", "Expect: something"), { expectContinue: false }],
  ["CONNECT authority-form", head("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"), {
    targetForm: "authority",
    target: "example.com:443",
  }],
  ["CONNECT to an IPv6 literal", head("CONNECT [::1]:8080 HTTP/1.1", "Host: [::1]:8080"), { targetForm: "authority" }],
  ["OPTIONS *", head("OPTIONS * HTTP/1.1", "Host: a"), { targetForm: "asterisk", target: "*" }],
  ["absolute-form matching Host", head("GET http://example.com/x?y HTTP/1.1", "Host: example.com"), {
    targetForm: "absolute",
    target: "http://example.com/x?y",
    host: "example.com",
  }],
  ["absolute-form: default port and case do not matter", head("GET HTTPS://Example.COM HTTP/1.1", "Host: example.com:443"), {
    targetForm: "absolute",
  }],
  ["absolute-form in HTTP/1.0 without Host: host from the target", head("GET http://example.com:8080/ HTTP/1.0"), {
    host: "example.com:8080",
  }],
  ["empty lines before the request line are skipped (RFC 9112 §2.2)", "\r\n\r\n" + GET, { method: "GET" }],
  ["Host with port", head("GET / HTTP/1.1", "Host: example.com:8080"), { host: "example.com:8080" }],
  ["Host IPv6 literal", head("GET / HTTP/1.1", "Host: [2001:db8::1]:80"), { host: "[2001:db8::1]:80" }],
  ["empty Host (RFC 9112 §3.2)", head("GET / HTTP/1.1", "Host:"), { host: "" }],
  ["100 header fields", head("GET / HTTP/1.1", "Host: a", ...Array.from({ length: 99 }, (_, i) => `X-${i}: ${i}`)), {
    host: "a",
  }],
];

/** Complete heads that are rejected: name, raw head, status. */
export const REJECT: Array<[name: string, raw: string, status: number]> = [
  // request line
  ["leading space before the method", " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["double space after the method", head("GET  / HTTP/1.1", "Host: a"), 400],
  ["double space before the version", head("GET /  HTTP/1.1", "Host: a"), 400],
  ["space after the version", head("GET / HTTP/1.1 ", "Host: a"), 400],
  ["tab as a separator", head("GET\t/ HTTP/1.1", "Host: a"), 400],
  ["HTTP/0.9 request line (no version)", "GET /\r\n\r\n", 400],
  ["method only", "GET\r\n\r\n", 400],
  ["lowercase http/1.1", head("GET / http/1.1", "Host: a"), 400],
  ["HTTP/1.10", head("GET / HTTP/1.10", "Host: a"), 400],
  ["HTTP/11.1", head("GET / HTTP/11.1", "Host: a"), 400],
  ["HTTP/1", head("GET / HTTP/1", "Host: a"), 400],
  ["HTTP/1.x", head("GET / HTTP/1.x", "Host: a"), 400],
  ["HTTP/2.0", head("GET / HTTP/2.0", "Host: a"), 505],
  ["HTTP/0.9 version", head("GET / HTTP/0.9", "Host: a"), 505],
  ["HTTP/1.2", head("GET / HTTP/1.2", "Host: a"), 505],
  ["HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505],
  ["@ in the method", head("GE@T / HTTP/1.1", "Host: a"), 400],
  ["NUL in the method", head("GET\0 / HTTP/1.1", "Host: a"), 400],
  ["control byte in the target", head("GET /\x01 HTTP/1.1", "Host: a"), 400],
  ["DEL in the target", head("GET /\x7f HTTP/1.1", "Host: a"), 400],
  ["non-ASCII byte in the target", head("GET /caf\u00e9 HTTP/1.1", "Host: a"), 400],
  ["fragment in the target", head("GET /a#b HTTP/1.1", "Host: a"), 400],
  ["target that is no form", head("GET example.com HTTP/1.1", "Host: a"), 400],
  ["* outside OPTIONS", head("GET * HTTP/1.1", "Host: a"), 400],
  ["CONNECT with origin-form", head("CONNECT / HTTP/1.1", "Host: a"), 400],
  ["CONNECT without a port", head("CONNECT example.com HTTP/1.1", "Host: a"), 400],
  ["CONNECT with absolute-form", head("CONNECT http://a:1/ HTTP/1.1", "Host: a"), 400],
  ["CONNECT with userinfo", head("CONNECT u@a:1 HTTP/1.1", "Host: a"), 400],
  ["authority-form outside CONNECT", head("GET a:80 HTTP/1.1", "Host: a"), 400],
  ["absolute-form with userinfo", head("GET http://user@a/ HTTP/1.1", "Host: a"), 400],
  ["absolute-form with another scheme", head("GET ftp://a/ HTTP/1.1", "Host: a"), 400],
  ["absolute-form with an empty authority", head("GET http:///x HTTP/1.1", "Host: a"), 400],
  ["absolute-form with a port only", head("GET http://:80/x HTTP/1.1", "Host: a"), 400],
  ["absolute-form not matching Host", head("GET http://evil.example/ HTTP/1.1", "Host: good.example"), 400],
  ["absolute-form port not matching Host", head("GET http://a:8080/ HTTP/1.1", "Host: a"), 400],
  // line endings
  ["bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400],
  ["LF-only head", "GET / HTTP/1.1\nHost: a\n\n", 400],
  ["LF-only terminator", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400],
  ["LF then CRLF terminator", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400],
  ["bare CR ending a line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400],
  ["bare CR in the final empty line", "GET / HTTP/1.1\r\nHost: a\r\n\rX", 400],
  ["bare LF before the request line", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  ["bare CR before the request line", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400],
  // field names
  ["space before the colon", head("GET / HTTP/1.1", "Host : a"), 400],
  ["tab before the colon", head("GET / HTTP/1.1", "Host\t: a"), 400],
  ["space before the colon of Transfer-Encoding", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding : chunked"), 400],
  ["@ in a field name", head("GET / HTTP/1.1", "Host: a", "X-F@o: 1"), 400],
  ["space inside a field name", head("GET / HTTP/1.1", "Host: a", "X Foo: 1"), 400],
  ["non-ASCII in a field name", head("GET / HTTP/1.1", "Host: a", "X-F\u00f6o: 1"), 400],
  ["empty field name", head("GET / HTTP/1.1", "Host: a", ": 1"), 400],
  ["field line without a colon", head("GET / HTTP/1.1", "Host: a", "X-Foo"), 400],
  // obs-fold and whitespace lines
  ["obs-fold with a space", head("GET / HTTP/1.1", "Host: a", "X-A: b", " c"), 400],
  ["obs-fold with a tab", head("GET / HTTP/1.1", "Host: a", "X-A: b", "\tc"), 400],
  ["folded Transfer-Encoding value", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:", " chunked"), 400],
  [" Transfer-Encoding as the first field line", head("POST / HTTP/1.1", " Transfer-Encoding: chunked", "Host: a"), 400],
  // field values
  ["NUL in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\0c"), 400],
  ["control byte in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\x01"), 400],
  ["vertical tab before chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \x0bchunked"), 400],
  ["DEL in a value", head("GET / HTTP/1.1", "Host: a", "X-A: \x7f"), 400],
  ["bare CR in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\rc"), 400],
  ["bare LF in a value", head("GET / HTTP/1.1", "Host: a", "X-A: b\nc"), 400],
  // Host
  ["missing Host in HTTP/1.1", head("GET / HTTP/1.1"), 400],
  ["two Hosts", head("GET / HTTP/1.1", "Host: a", "Host: a"), 400],
  ["two Hosts in HTTP/1.0", head("GET / HTTP/1.0", "Host: a", "host: b"), 400],
  ["Host with a space", head("GET / HTTP/1.1", "Host: a b"), 400],
  ["Host with a slash", head("GET / HTTP/1.1", "Host: a/b"), 400],
  ["Host with userinfo", head("GET / HTTP/1.1", "Host: u@a"), 400],
  ["Host with a non-numeric port", head("GET / HTTP/1.1", "Host: a:b"), 400],
  ["Host list", head("GET / HTTP/1.1", "Host: a, b"), 400],
  // Content-Length
  ["Content-Length: +5", head("POST / HTTP/1.1", "Host: a", "Content-Length: +5"), 400],
  ["Content-Length: -1", head("POST / HTTP/1.1", "Host: a", "Content-Length: -1"), 400],
  ["Content-Length: 0x10", head("POST / HTTP/1.1", "Host: a", "Content-Length: 0x10"), 400],
  ["Content-Length: 1 2", head("POST / HTTP/1.1", "Host: a", "Content-Length: 1 2"), 400],
  ["Content-Length: 1e3", head("POST / HTTP/1.1", "Host: a", "Content-Length: 1e3"), 400],
  ["Content-Length: 5.0", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5.0"), 400],
  ["empty Content-Length", head("POST / HTTP/1.1", "Host: a", "Content-Length:"), 400],
  ["Content-Length of spaces", head("POST / HTTP/1.1", "Host: a", "Content-Length:   "), 400],
  ["Content-Length with a trailing comma", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5,"), 400],
  ["Content-Length with a leading comma", head("POST / HTTP/1.1", "Host: a", "Content-Length: ,5"), 400],
  ["Content-Length 2^53", head("POST / HTTP/1.1", "Host: a", "Content-Length: 9007199254740992"), 400],
  ["Content-Length with a trailing NBSP (obs-text is not OWS)", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5\u00a0"), 400],
  ["Transfer-Encoding chunked with a trailing NBSP", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked\u00a0"), 400],
  ["huge Content-Length", head("POST / HTTP/1.1", "Host: a", "Content-Length: 99999999999999999999999999"), 400],
  ["differing Content-Length lines", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"), 400],
  ["differing Content-Length list", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5, 6"), 400],
  ["Content-Length 5 and 05 (not identical)", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 05"), 400],
  // Transfer-Encoding
  ["Content-Length and Transfer-Encoding", head("POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Transfer-Encoding: chunked"), 400],
  ["Transfer-Encoding and Content-Length", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 0"), 400],
  ["Transfer-Encoding: chunked, identity", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, identity"), 400],
  ["Transfer-Encoding: xchunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: xchunked"), 400],
  ["Transfer-Encoding: chunked;q=1", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked;q=1"), 400],
  ["Transfer-Encoding: \"chunked\"", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: \"chunked\""), 400],
  ["Transfer-Encoding: identity", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: identity"), 400],
  ["Transfer-Encoding: gzip", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip"), 400],
  ["Transfer-Encoding: chunked, chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked, chunked"), 400],
  ["Transfer-Encoding chunked on two lines", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"), 400],
  ["Transfer-Encoding chunked then gzip on two lines", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip"), 400],
  ["empty Transfer-Encoding", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding:"), 400],
  ["Transfer-Encoding: gzip, chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: gzip, chunked"), 501],
  ["Transfer-Encoding: deflate on a line before chunked", head("POST / HTTP/1.1", "Host: a", "Transfer-Encoding: deflate", "Transfer-Encoding: chunked"), 501],
  ["Transfer-Encoding in HTTP/1.0", head("POST / HTTP/1.0", "Transfer-Encoding: chunked"), 400],
  // Connection
  ["Connection option that is not a token", head("GET / HTTP/1.1", "Host: a", "Connection: a b"), 400],
  ["Connection option with a slash", head("GET / HTTP/1.1", "Host: a", "Connection: upgrade/1"), 400],
];

/** Unfinished heads rejected as soon as the bytes show it: name, raw bytes, status. */
export const EARLY: Array<[name: string, raw: string, status: number]> = [
  ["bare LF in the request line", "GET / HTTP/1.1\n", 400],
  ["bad byte in the method", "G@", 400],
  ["fragment in the target", "GET /#", 400],
  ["lowercase version", "GET / http", 400],
  ["unsupported version, once its line ends", "GET / HTTP/2.0\r\n", 505],
  ["space before a colon", "GET / HTTP/1.1\r\nHost :", 400],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: a\r\nX: \0", 400],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n ", 400],
];

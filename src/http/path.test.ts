/**
 * Table tests of the routed and forwarded path: absolute-form to
 * origin-form, dot-segment removal (RFC 3986 §5.2.4, including the RFC's own
 * examples), escapes, and the targets refused; plus generated paths.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normalizePath, originFormOf } from "./path.ts";

const ORIGIN_FORM: Array<[target: string, origin: string]> = [
  ["http://example.com/api/x", "/api/x"],
  ["http://example.com:8080/api/x?q=1", "/api/x?q=1"],
  ["HTTP://Example.COM/a", "/a"],
  ["https://example.com/a/b/", "/a/b/"],
  ["http://example.com", "/"],
  ["http://example.com?q=1", "/?q=1"],
  ["http://[::1]:8080/v6", "/v6"],
  ["http://example.com/a?next=http://other/b", "/a?next=http://other/b"],
  ["/already/origin?x", "/already/origin?x"],
  ["*", "*"],
  ["example.com:443", "example.com:443"],
];

for (const [target, origin] of ORIGIN_FORM) {
  test(`originFormOf(${JSON.stringify(target)}) is ${JSON.stringify(origin)}`, () => {
    assert.equal(originFormOf(target), origin);
  });
}

const NORMALISED: Array<[target: string, path: string]> = [
  ["/", "/"],
  ["/api", "/api"],
  ["/api/", "/api/"],
  ["/api/../internal", "/internal"],
  ["/api/x/../../internal", "/internal"],
  ["/api/./x", "/api/x"],
  ["/api/x/..", "/api/"],
  ["/api/x/.", "/api/x/"],
  ["/..", "/"],
  ["/../x", "/x"],
  ["/../../../etc/passwd", "/etc/passwd"],
  ["/./", "/"],
  ["/.", "/"],
  ["/a/b/c/./../../g", "/a/g"], // RFC 3986 §5.2.4
  ["/mid/content=5/../6", "/mid/6"], // RFC 3986 §5.2.4
  ["/a//b", "/a//b"],
  ["/api//../internal", "/api/internal"],
  ["/...", "/..."],
  ["/a/.../b", "/a/.../b"],
  ["/.hidden/..x/x..", "/.hidden/..x/x.."],
  ["/api/../internal?x=/../y&z=%2e%2e", "/internal?x=/../y&z=%2e%2e"],
  ["/p?", "/p?"],
  ["/%61pi/x", "/api/x"],
  ["/a%2eb", "/a.b"],
  ["/%2e%2e%2e", "/..."],
  ["/%7euser", "/~user"],
  ["/a%2fb", "/a%2Fb"],
  ["/group%2Fproject/-/raw", "/group%2Fproject/-/raw"],
  ["/%c3%a9t%c3%a9", "/%C3%A9t%C3%A9"],
  ["/%00", "/%00"],
  ["/%252e%252e/x", "/%252e%252e/x"],
  ["/a;b/c;v=1", "/a;b/c;v=1"],
  ["http://example.com/api/../internal?q", "/internal?q"],
  ["http://example.com", "/"],
  ["*", "*"],
];

for (const [target, path] of NORMALISED) {
  test(`normalizePath(${JSON.stringify(target)}) is ${JSON.stringify(path)}`, () => {
    assert.equal(normalizePath(target), path);
  });
}

const REFUSED: string[] = [
  "/%2e",
  "/%2E",
  "/%2e%2e",
  "/%2E%2E",
  "/.%2e",
  "/%2e.",
  "/.%2E/x",
  "/api/%2e%2e/internal",
  "/api/%2E%2e/internal",
  "/api/.%2e/internal",
  "/api/%2e./internal",
  "/api/%2e/x",
  "/api/..%2finternal",
  "/api/..%2Finternal",
  "/api/x%2f..%2f..%2finternal",
  "/api/..%5cinternal",
  "/api/..\\internal",
  "/api/x\\.",
  "/api/..;/internal",
  "/api/.;x/internal",
  "/api/%2e%2e;x/internal",
  "/bad%zz",
  "/bad%4",
  "/bad%",
  "http://example.com/api/%2e%2e/internal",
];

for (const target of REFUSED) {
  test(`normalizePath(${JSON.stringify(target)}) refuses it`, () => {
    assert.equal(normalizePath(target), null);
  });
}

/** Path segments of letters, dots, escapes and separators. */
const SEGMENT = fc.oneof(
  fc.constantFrom(".", "..", "", "%2e", "%2E%2e", "..%2f", "a", "b", "%41", "a%2Fb", "x;y", ".x"),
  fc.stringMatching(/^[a-z0-9._~-]{1,6}$/),
);
const PATH = fc.array(SEGMENT, { maxLength: 8 }).map((s) => `/${s.join("/")}`);

test("normalizePath: the result has no dot-segment, starts with /, and is a fixed point", () => {
  fc.assert(fc.property(PATH, fc.option(fc.stringMatching(/^[a-z=&./%]{0,8}$/)), (path, query) => {
    const target = query === null ? path : `${path}?${query}`;
    const n = normalizePath(target);
    if (n === null) return;
    const p = n.split("?", 1)[0];
    assert.ok(p.startsWith("/"), n);
    assert.ok(!p.split("/").some((s) => s === "." || s === ".."), n);
    assert.equal(normalizePath(n), n, "normalising twice changes nothing");
    if (query !== null) assert.ok(n.endsWith(`?${query}`), "query kept byte for byte");
  }));
});

test("normalizePath: a path of plain letters and slashes is unchanged", () => {
  fc.assert(fc.property(fc.array(fc.stringMatching(/^[a-zA-Z0-9_-]{0,5}$/), { maxLength: 8 }), (segs) => {
    const path = `/${segs.join("/")}`;
    assert.equal(normalizePath(path), path);
  }));
});

/** Request paths of static routes: segments, dot segments, dotfiles, the slash redirect target. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { requestPath, withTrailingSlash } from "./path.ts";

test("static path: segments without empty ones; directory when the path ends in /", () => {
  const cases: [string, unknown][] = [
    ["/", { kind: "path", segments: [], directory: true }],
    ["/a.txt?x=1", { kind: "path", segments: ["a.txt"], directory: false }],
    ["//docs//page.txt", { kind: "path", segments: ["docs", "page.txt"], directory: false }],
    ["/docs", { kind: "path", segments: ["docs"], directory: false }],
    ["/docs/?q", { kind: "path", segments: ["docs"], directory: true }],
    ["/caf%C3%A9.txt", { kind: "path", segments: ["café.txt"], directory: false }],
    ["/a..b/c.", { kind: "path", segments: ["a..b", "c."], directory: false }],
  ];
  for (const [target, want] of cases) assert.deepEqual(requestPath(target, "deny"), want, target);
});

test("static path: dot segments are 403, bad encodings 400", () => {
  for (const target of ["/..", "/a/../b", "/./a", "/%2e%2e/x", "/a/%2E"]) {
    assert.deepEqual(requestPath(target, "allow"), { kind: "refused", status: 403 }, target);
  }
  for (const target of ["/a%2fb", "/%00", "/a%5c", "/%ff", "relative", "/a\\b"]) {
    assert.deepEqual(requestPath(target, "allow"), { kind: "refused", status: 400 }, target);
  }
});

test("static path: dotfiles are 404 when denied and plain segments when allowed", () => {
  const dotted = ["/.env", "/.git/config", "/a/.hidden/b.txt", "/.well-known/x", "/%2eenv", "/a/.b"];
  for (const target of dotted) {
    assert.deepEqual(requestPath(target, "deny"), { kind: "refused", status: 404 }, `deny ${target}`);
    const allowed = requestPath(target, "allow");
    assert.equal(allowed.kind, "path", `allow ${target}`);
  }
  assert.deepEqual(requestPath("/.git/config", "allow"), { kind: "path", segments: [".git", "config"], directory: false });
});

test("static path: withTrailingSlash keeps the query and folds slash runs (no //host)", () => {
  const cases: [string, string][] = [
    ["/docs", "/docs/"],
    ["/docs?q=1&b=2", "/docs/?q=1&b=2"],
    ["/a/b%20c", "/a/b%20c/"],
    ["//evil.example", "/evil.example/"],
    ["/a//b", "/a/b/"],
    ["/x?next=//y", "/x/?next=//y"],
  ];
  for (const [target, want] of cases) assert.equal(withTrailingSlash(target), want, target);
});

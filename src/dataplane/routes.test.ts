/**
 * Route matching: host and path prefix, in order, on the normalised path:
 * a target with dot-segments routes where it resolves to, an encoded
 * dot-segment matches nothing, absolute-form routes by its path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RouteInit } from "./protocol.ts";
import { matchPath, matchRoute, pathMatches } from "./routes.ts";

function route(id: string, path: string, host?: string): RouteInit {
  return {
    index: 0, id, host, path, stripPrefix: false, group: 0, staticRoot: undefined, staticIndex: "index.html", staticDotfiles: "deny",
    requestHeaders: undefined, responseHeaders: undefined, maxBodySize: Number.MAX_SAFE_INTEGER,
  };
}

const ROUTES = [route("admin", "/admin", "admin.example"), route("api", "/api"), route("docs", "/docs/"), route("internal", "/internal"), route("root", "/")];

const MATCHES: Array<[host: string | undefined, target: string, id: string | undefined]> = [
  ["a.example", "/api", "api"],
  ["a.example", "/api/x?q=1", "api"],
  ["a.example", "/api?q=1", "api"],
  ["a.example", "/apix", "root"],
  ["a.example", "/docs/", "docs"],
  ["a.example", "/docs", "root"],
  ["a.example", "/api/../internal", "internal"],
  ["a.example", "/api/../internal/secret", "internal"],
  ["a.example", "/api/x/../../internal", "internal"],
  ["a.example", "/x/../api/y", "api"],
  ["a.example", "/api/./x", "api"],
  ["a.example", "/api/..", "root"],
  ["a.example", "/%61pi/x", "api"],
  ["a.example", "/api/%2e%2e/internal", undefined],
  ["a.example", "/api/..%2finternal", undefined],
  ["a.example", "/api/%zz", undefined],
  ["a.example", "http://a.example/api/x", "api"],
  ["a.example", "http://a.example/api/../internal", "internal"],
  ["admin.example", "/admin/x", "admin"],
  ["ADMIN.example:8080", "/admin", "admin"],
  ["other.example", "/admin/x", "root"],
  ["admin.example", "/api/../admin", "admin"],
  ["other.example", "/api/../admin", "root"],
  [undefined, "/api", "api"],
];

for (const [host, target, id] of MATCHES) {
  test(`matchRoute(${host}, ${JSON.stringify(target)}) is ${id ?? "no route"}`, () => {
    assert.equal(matchRoute(ROUTES, host, target)?.id, id);
  });
}

test("matchPath matches the path as given (the caller normalised it)", () => {
  assert.equal(matchPath(ROUTES, "a.example", "/api/x")?.id, "api");
  assert.equal(matchPath(ROUTES, "a.example", "/internal")?.id, "internal");
  assert.equal(matchPath([route("api", "/api")], "a.example", "/other"), undefined);
});

test("routes are tried in order: the first match wins", () => {
  const routes = [route("wide", "/"), route("narrow", "/api")];
  assert.equal(matchRoute(routes, "a", "/api/x")?.id, "wide");
});

test("pathMatches: at a segment boundary unless the prefix ends with /", () => {
  assert.equal(pathMatches("/api", "/api"), true);
  assert.equal(pathMatches("/api", "/api/"), true);
  assert.equal(pathMatches("/api", "/api?x"), true);
  assert.equal(pathMatches("/api", "/apis"), false);
  assert.equal(pathMatches("/api/", "/api/x"), true);
  assert.equal(pathMatches("/api/", "/api"), false);
  assert.equal(pathMatches("/", "*"), true);
});

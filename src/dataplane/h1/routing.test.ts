/** Routing: the fast path agrees with normalisation; decisions are cached per connection. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { normalizePath } from "../../http/path.ts";
import type { RouteInit } from "../protocol.ts";
import { isPlainPath, RouteChoice } from "./routing.ts";

const PATH_CHARS = ["/", ".", "%", "2", "e", "E", "f", "F", "a", "b", "\\", ";", "?", "~", "-", "_", "5", "c"];
const pathLike = fc.array(fc.constantFrom(...PATH_CHARS), { maxLength: 24 }).map((cs) => `/${cs.join("")}`);

test("routing: a target the fast path calls plain is one normalisation leaves unchanged", () => {
  fc.assert(fc.property(pathLike, (target) => !isPlainPath(target) || normalizePath(target) === target), { numRuns: 5000 });
  assert.equal(isPlainPath("/api/x?q=/../"), true, "the query is never looked at");
  assert.equal(isPlainPath("/api/../x"), false);
  assert.equal(isPlainPath("/a%2e"), false);
});

function route(path: string, index: number): RouteInit {
  return {
    index, id: `l/r${index}`, host: undefined, path, stripPrefix: false, group: 0, staticRoot: undefined,
    staticIndex: "index.html", staticDotfiles: "deny", requestHeaders: undefined, responseHeaders: undefined, maxBodySize: 1e9,
  };
}

test("routing: dot-segments are resolved before matching; encoded ones are refused", () => {
  const routes = [route("/api", 0), route("/", 1)];
  const choice = new RouteChoice();
  choice.decide(routes, { target: "/api/../internal", host: "h", targetForm: "origin" });
  assert.equal(choice.route?.index, 1);
  assert.equal(choice.target, "/internal");
  choice.decide(routes, { target: "/api/%2e%2e/internal", host: "h", targetForm: "origin" });
  assert.equal(choice.refused, true);
  choice.decide(routes, { target: "http://h/api/x", host: "h", targetForm: "absolute" });
  assert.equal(choice.route?.index, 0);
  assert.equal(choice.target, "/api/x", "absolute-form is forwarded in origin-form");
  choice.decide(routes, { target: "/api/y", host: "h", targetForm: "origin" });
  assert.equal(choice.refused, false, "a refusal does not stick to the next request");
  assert.equal(choice.target, "/api/y");
});

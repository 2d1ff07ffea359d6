/** SNI route precedence: exact, then the longest wildcard, then the default. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SniRouter } from "./sni_router.ts";

const routes = [
  { name: "star-net", sni: "*.example.net" },
  { name: "default", sni: undefined },
  { name: "a", sni: "A.example.com" },
  { name: "star-deep", sni: "*.deep.example.net" },
  { name: "exact-net", sni: "x.example.net" },
  { name: "second-default", sni: undefined },
];
const router = new SniRouter(routes);
const pick = (name: string) => router.match(name)?.name;

test("sni router: exact names win over wildcards, whatever the order", () => {
  assert.equal(pick("a.example.com"), "a");
  assert.equal(pick("x.example.net"), "exact-net");
});

test("sni router: a wildcard takes one label or more; the longest suffix wins", () => {
  assert.equal(pick("y.example.net"), "star-net");
  assert.equal(pick("y.z.example.net"), "star-net");
  assert.equal(pick("q.deep.example.net"), "star-deep");
  assert.equal(pick("example.net"), "default", "the bare domain is not a subdomain");
  assert.equal(pick("xexample.net"), "default", "a suffix must start at a label");
});

test("sni router: no SNI or no match goes to the first default; none without a default", () => {
  assert.equal(pick(""), "default");
  assert.equal(pick("other.org"), "default");
  const strict = new SniRouter([{ sni: "a.example.com" }]);
  assert.equal(strict.match("b.example.com"), undefined);
  assert.equal(strict.match(""), undefined);
});

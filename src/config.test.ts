/**
 * Config validation of `sendTimeout`: a duration on TCP and HTTP listeners,
 * 60 s by default, converted to milliseconds, out-of-range values refused
 * with the field path.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";

const tcp = { listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] };
const http = { mode: "http", listen: "127.0.0.1:0", routes: [{ upstreams: ["127.0.0.1:1"] }] };

test("config: sendTimeout defaults to 60 s on TCP and HTTP listeners", () => {
  const cfg = validateConfig({ workers: 1, listeners: [tcp, http] }, "test");
  assert.deepEqual(cfg.listeners.map((l) => l.sendTimeout), [60_000, 60_000]);
});

test("config: sendTimeout takes durations like the other timeouts", () => {
  const cfg = validateConfig({ workers: 1, listeners: [{ ...tcp, sendTimeout: "1s" }, { ...http, sendTimeout: 250 }] }, "test");
  assert.deepEqual(cfg.listeners.map((l) => l.sendTimeout), [1000, 250]);
  const minutes = validateConfig({ workers: 1, listeners: [{ ...http, sendTimeout: "2m" }] }, "test");
  assert.equal(minutes.listeners[0].sendTimeout, 120_000);
});

test("config: a bad sendTimeout is a ConfigError naming the field", () => {
  for (const bad of ["0", "soon", -1, "2d"]) {
    assert.throws(
      () => validateConfig({ workers: 1, listeners: [{ ...http, sendTimeout: bad }] }, "x.json"),
      (err: unknown) => err instanceof ConfigError && /x\.json: listeners\[0\]\.sendTimeout: /.test(err.message),
      String(bad),
    );
  }
});

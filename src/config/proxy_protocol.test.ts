/** Config keys of the PROXY protocol: defaults, the trustedProxies rule, field-path errors in spliced's words. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateConfig } from "../config.ts";
import { ConfigError } from "../errors.ts";

const tcp = { listen: "127.0.0.1:0", upstreams: ["127.0.0.1:1"] };
const http = { mode: "http", listen: "127.0.0.1:0", routes: [{ upstreams: ["127.0.0.1:1"] }] };

function lines(listener: unknown): string[] {
  try {
    validateConfig({ workers: 1, listeners: [listener] }, "f.json");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split("\n");
  }
  return [];
}

test("config: acceptProxyProtocol with trustedProxies, sendProxyProtocol per listener and route", () => {
  const cfg = validateConfig({
    workers: 1,
    listeners: [
      { ...tcp, acceptProxyProtocol: "any", trustedProxies: ["10.0.0.0/8", "::1"], sendProxyProtocol: "v2" },
      { ...http, listen: "127.0.0.1:1", sendProxyProtocol: "v1", routes: [{ upstreams: ["127.0.0.1:1"], sendProxyProtocol: "v2" }] },
    ],
  }, "f.json");
  const [t, h] = cfg.listeners as any[];
  assert.deepEqual([t.acceptProxyProtocol, t.trustedProxies, t.sendProxyProtocol], ["any", ["10.0.0.0/8", "::1"], "v2"]);
  assert.deepEqual([h.acceptProxyProtocol, h.sendProxyProtocol, h.routes[0].sendProxyProtocol], [undefined, "v1", "v2"]);
});

test("config: trustedProxies is required with acceptProxyProtocol, and only with it", () => {
  assert.deepEqual(lines({ ...tcp, acceptProxyProtocol: "v1" }), [
    `f.json: listeners[0].trustedProxies: missing: "acceptProxyProtocol" needs the addresses allowed to send the header, as "trustedProxies": ["10.0.0.0/8"]`,
  ]);
  assert.deepEqual(lines({ ...http, acceptProxyProtocol: "v2", trustedProxies: [] }), ["f.json: listeners[0].trustedProxies: needs at least one address or CIDR"]);
  assert.deepEqual(lines({ ...tcp, trustedProxies: ["10.0.0.0/8"] }), [
    `f.json: listeners[0].trustedProxies: only applies with "acceptProxyProtocol" ("v1", "v2" or "any")`,
  ]);
});

test("config: bad values name the field path", () => {
  assert.deepEqual(lines({ ...tcp, acceptProxyProtocol: "v3", trustedProxies: ["10.0.0.1/8", "10.0.0.0/33", "db.local"] }), [
    `f.json: listeners[0].acceptProxyProtocol: expected "v1" or "v2" or "any", got "v3"`,
    `f.json: listeners[0].trustedProxies[0]: "10.0.0.1/8" has bits set past /8 (the network is written with them zero)`,
    `f.json: listeners[0].trustedProxies[1]: prefix length in "10.0.0.0/33" must be from 0 to 32`,
    `f.json: listeners[0].trustedProxies[2]: expected an address or CIDR (10.0.0.0/8, 2001:db8::/32), got "db.local"`,
  ]);
  assert.deepEqual(lines({ ...http, routes: [{ upstreams: ["127.0.0.1:1"], sendProxyProtocol: "v3" }] }), [
    `f.json: listeners[0].routes[0].sendProxyProtocol: expected "v1" or "v2", got "v3"`,
  ]);
  assert.deepEqual(lines({ ...tcp, sendProxyProtcol: "v1" }), [`f.json: listeners[0]: unknown key "sendProxyProtcol"; did you mean "sendProxyProtocol"?`]);
});

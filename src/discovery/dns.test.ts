/**
 * DnsDiscovery against a DNS server the test runs: a changed answer calls
 * onChange once; a failed lookup keeps the last good set, logs one line, and
 * calls nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestDns } from "../../test/helpers/dns_server.ts";
import { DnsDiscovery } from "./dns.ts";

test("DnsDiscovery: new set -> onChange; SERVFAIL -> last good set kept and one log line", async () => {
  const dns = await startTestDns();
  const lines: string[] = [];
  let changes = 0;
  const d = new DnsDiscovery({ refresh: 3_600_000, servers: [dns.server] }, () => Promise.resolve(void changes++), (l) => lines.push(l));
  try {
    dns.set("a.test", ["10.0.0.1", "fd00::1"]);
    assert.deepEqual(await d.addresses("a.test"), ["10.0.0.1", "fd00::1"]);
    assert.deepEqual(await d.addresses("10.9.9.9"), ["10.9.9.9"]);
    await d.refresh();
    assert.equal(changes, 0, "same answer: no change");
    dns.set("a.test", ["10.0.0.2"]);
    await d.refresh();
    assert.equal(changes, 1);
    assert.deepEqual(await d.addresses("a.test"), ["10.0.0.2"]);

    dns.failing = true;
    await d.refresh();
    dns.failing = false;
    assert.equal(changes, 1, "a failed lookup changes nothing");
    assert.deepEqual(await d.addresses("a.test"), ["10.0.0.2"]);
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]);
    assert.equal(line.event, "dns");
    assert.equal(line.host, "a.test");
    assert.deepEqual(line.kept, ["10.0.0.2"]);
    assert.match(line.error, /cannot resolve "a\.test"/);
  } finally {
    d.close();
    await dns.close();
  }
});

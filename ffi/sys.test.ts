/**
 * Tests of the ffi layer on the runtime that runs them: the shared {@link Sys}
 * contract against the real kernel, and the sockaddr encoding.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AF_INET, AF_INET6, SOCKADDR_IN6_SIZE, SOCKADDR_IN_SIZE } from "./constants.ts";
import { currentRuntime, loadSys } from "./mod.ts";
import { decodeSockaddr, encodeSockaddr, formatEndpoint, ipv6Groups } from "./sockaddr.ts";
import { runSysContract } from "./sys_contract.ts";

const sys = await loadSys();
runSysContract(sys, test);

test("loadSys: names the runtime and returns one cached Sys", async () => {
  assert.equal(sys.runtime, currentRuntime());
  assert.equal(await loadSys(), sys);
});

/** The address bytes of an encoded sockaddr_in6 (offsets 8..24). */
function addr6(host: string): number[] {
  return [...encodeSockaddr({ host, port: 0 }).bytes.subarray(8, 24)];
}

test("sockaddr: encodes IPv4 as sockaddr_in (family host order, port big-endian)", () => {
  const sa = encodeSockaddr({ host: "127.0.0.1", port: 8080 });
  assert.equal(sa.family, AF_INET);
  assert.equal(sa.length, SOCKADDR_IN_SIZE);
  assert.deepEqual([...sa.bytes.subarray(0, 16)], [2, 0, 0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test("sockaddr: decodes IPv4, also from a subarray with a byte offset", () => {
  const sa = encodeSockaddr({ host: "10.20.30.40", port: 65535 });
  assert.deepEqual(decodeSockaddr(sa.bytes), { host: "10.20.30.40", port: 65535 });
  const shifted = new Uint8Array(64);
  shifted.set(sa.bytes, 5);
  assert.deepEqual(decodeSockaddr(shifted.subarray(5)), { host: "10.20.30.40", port: 65535 });
});

test("sockaddr: encodes ::1 as sockaddr_in6", () => {
  const sa = encodeSockaddr({ host: "::1", port: 443 });
  assert.equal(sa.family, AF_INET6);
  assert.equal(sa.length, SOCKADDR_IN6_SIZE);
  assert.deepEqual([...sa.bytes.subarray(0, 8)], [10, 0, 0x01, 0xbb, 0, 0, 0, 0], "family, port, flowinfo");
  assert.deepEqual(addr6("::1"), [...new Array(15).fill(0), 1]);
  assert.deepEqual([...sa.bytes.subarray(24, 28)], [0, 0, 0, 0], "scope id");
  assert.deepEqual(decodeSockaddr(sa.bytes), { host: "::1", port: 443 });
});

test("sockaddr: accepts a bracketed IPv6 literal", () => {
  assert.deepEqual(encodeSockaddr({ host: "[::1]", port: 1 }).bytes, encodeSockaddr({ host: "::1", port: 1 }).bytes);
});

test("sockaddr: ::ffff:1.2.3.4 encodes the IPv4 tail and decodes in mixed notation", () => {
  assert.deepEqual(addr6("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual(ipv6Groups("::ffff:1.2.3.4"), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
  const sa = encodeSockaddr({ host: "::ffff:1.2.3.4", port: 80 });
  assert.deepEqual(decodeSockaddr(sa.bytes), { host: "::ffff:1.2.3.4", port: 80 });
});

test("sockaddr: ipv6Groups expands :: anywhere", () => {
  assert.deepEqual(ipv6Groups("::"), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Groups("1::"), [1, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Groups("2001:db8::ff00:42:8329"), [0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329]);
  assert.deepEqual(ipv6Groups("1:2:3:4:5:6:7:8"), [1, 2, 3, 4, 5, 6, 7, 8]);
});

/** Literal in, RFC 5952 canonical text out of decode(encode(literal)). */
const CANONICAL: ReadonlyArray<[string, string]> = [
  ["::", "::"],
  ["::1", "::1"],
  ["1::", "1::"],
  ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
  ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
  ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
  ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
  ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
  ["fe80::1:2", "fe80::1:2"],
  ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
];

test("sockaddr: decode(encode(x)) gives the RFC 5952 compressed form", () => {
  for (const [literal, canonical] of CANONICAL) {
    const { host } = decodeSockaddr(encodeSockaddr({ host: literal, port: 9 }).bytes);
    assert.equal(host, canonical, `from ${literal}`);
    assert.equal(decodeSockaddr(encodeSockaddr({ host, port: 9 }).bytes).host, canonical, `stable for ${host}`);
  }
});

test("sockaddr: a port out of range is a RangeError naming the port", () => {
  for (const port of [-1, 65536, 1.5, Number.NaN]) {
    assert.throws(() => encodeSockaddr({ host: "127.0.0.1", port }), { name: "RangeError", message: new RegExp(String(port)) });
  }
});

test("sockaddr: a host name is a TypeError naming it", () => {
  for (const host of ["localhost", "example.com", "", "1.2.3", "::g"]) {
    assert.throws(() => encodeSockaddr({ host, port: 80 }), (err: unknown) => {
      return err instanceof TypeError && err.message.includes(`: ${host}`);
    }, `host ${JSON.stringify(host)}`);
  }
});

test("sockaddr: an unknown family is a RangeError", () => {
  assert.throws(() => decodeSockaddr(new Uint8Array([1, 0, 0, 80, 0, 0, 0, 0])), RangeError);
});

test("sockaddr: formatEndpoint brackets IPv6 only", () => {
  assert.equal(formatEndpoint({ host: "127.0.0.1", port: 80 }), "127.0.0.1:80");
  assert.equal(formatEndpoint({ host: "::1", port: 80 }), "[::1]:80");
});

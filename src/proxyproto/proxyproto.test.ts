/**
 * The PROXY protocol parser and writer: table cases for both versions, and
 * properties (fast-check): parse(write(x)) = x, any prefix of any input is
 * INCOMPLETE or judged as the whole input, random bytes never throw.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AcceptMode, CidrSet, formatIpv4, formatIpv6, parseCidr, parseProxyHeader, type ParseResult, type ProxyAddresses,
  type ProxyHeader, V2_SIGNATURE, writeProxyHeader, writeV1, writeV2,
} from "./mod.ts";

const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const parse = (bytes: Uint8Array, accept: AcceptMode = "any") => parseProxyHeader(bytes, 0, bytes.length, accept);
const reason = (r: ParseResult) => (r.status === "invalid" ? r.reason : `not invalid: ${r.status}`);

test("v1: TCP4 and TCP6 lines give their addresses and length", () => {
  const line = "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n";
  assert.deepEqual(parse(text(line + "GET /")), {
    status: "done", length: line.length,
    header: { version: 1, local: false, addresses: { family: "tcp4", source: { host: "192.0.2.1", port: 56324 }, destination: { host: "198.51.100.7", port: 443 } } },
  });
  const six = parse(text("PROXY TCP6 2001:DB8:0:0::1 ::1 1 65535\r\n"));
  assert.equal(six.status, "done");
  if (six.status === "done") assert.deepEqual(six.header.addresses?.source, { host: "2001:db8::1", port: 1 });
});

test("v1: UNKNOWN keeps the socket's addresses, whatever follows it on the line", () => {
  for (const line of ["PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ::1 1 2\r\n"]) {
    assert.deepEqual(parse(text(line)), { status: "done", length: line.length, header: { version: 1, local: false, addresses: null } });
  }
});

test("v1: malformed lines are refused, strictly", () => {
  const bad = [
    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\n", // LF without CR
    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\rX",
    "PROXY TCP4  192.0.2.1 198.51.100.7 56324 443\r\n", // two spaces
    "PROXY TCP4 192.0.2.01 198.51.100.7 1 2\r\n", // leading zero
    "PROXY TCP4 ::1 ::1 1 2\r\n", // family mismatch
    "PROXY TCP6 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n",
    "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n",
    "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n",
    "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\x00\r\n",
    "GET / HTTP/1.1\r\n",
  ];
  for (const line of bad) assert.equal(parse(text(line)).status, "invalid", JSON.stringify(line));
  assert.match(reason(parse(text("PROXY " + "1".repeat(120)))), /no CRLF within 107 bytes/);
});

const ADDRS: ProxyAddresses = { family: "tcp4", source: { host: "203.0.113.9", port: 40000 }, destination: { host: "10.1.2.3", port: 8080 } };

test("v2: PROXY TCP4 and TCP6, LOCAL and UNSPEC", () => {
  const bytes = writeV2(ADDRS);
  assert.equal(bytes.length, 28);
  assert.deepEqual(parse(bytes), { status: "done", length: 28, header: { version: 2, local: false, addresses: ADDRS } });
  const six: ProxyAddresses = { family: "tcp6", source: { host: "2001:db8::5", port: 1 }, destination: { host: "::ffff:10.0.0.1", port: 2 } };
  assert.deepEqual(parse(writeV2(six)), { status: "done", length: 52, header: { version: 2, local: false, addresses: six } });
  assert.deepEqual(parse(writeV2(ADDRS, true)), { status: "done", length: 16, header: { version: 2, local: true, addresses: null } });
  assert.deepEqual(parse(writeV2(null)), { status: "done", length: 16, header: { version: 2, local: false, addresses: null } });
});

test("v2: LOCAL with an address block ignores it", () => {
  const bytes = writeV2(ADDRS);
  bytes[12] = 0x20;
  assert.deepEqual(parse(bytes), { status: "done", length: 28, header: { version: 2, local: true, addresses: null } });
});

test("v2: unknown TLVs are skipped; a truncated one is refused", () => {
  const tlvs = [{ type: 0xe0, value: text("custom") }, { type: 0x04, value: new Uint8Array(0) }, { type: 0x01, value: text("h2") }];
  const bytes = writeV2(ADDRS, false, tlvs);
  assert.deepEqual(parse(bytes), { status: "done", length: bytes.length, header: { version: 2, local: false, addresses: ADDRS } });
  const cut = writeV2(ADDRS, false, [{ type: 0xe0, value: text("abc") }]);
  cut[15] -= 1; // the length now ends inside the TLV's value
  assert.match(reason(parse(cut.subarray(0, cut.length - 1))), /TLV longer than the header/);
  const stub = writeV2(ADDRS, false, [{ type: 0xe0, value: new Uint8Array(0) }]);
  stub[15] -= 1; // two bytes of a TLV head
  assert.match(reason(parse(stub.subarray(0, stub.length - 1))), /truncated TLV/);
});

test("v2: bad version, command, family, datagrams and short blocks are refused", () => {
  const edit = (at: number, v: number) => {
    const b = writeV2(ADDRS);
    b[at] = v;
    return parse(b);
  };
  assert.match(reason(edit(12, 0x11)), /version 1, expected 2/);
  assert.match(reason(edit(12, 0x22)), /unknown command 2/);
  assert.match(reason(edit(13, 0x41)), /unknown address family/);
  assert.match(reason(edit(13, 0x12)), /datagram/);
  assert.match(reason(edit(15, 11)), /address block of 11 bytes/);
  assert.match(reason(edit(3, 0x0b)), /not a PROXY protocol v2 header/);
  const big = writeV2(ADDRS);
  big[14] = 0x10;
  assert.match(reason(parse(big)), /more than the 4096 accepted/);
});

test("v2: AF_UNIX over a stream keeps the socket's addresses", () => {
  const b = new Uint8Array(16 + 216);
  b.set(V2_SIGNATURE);
  b[12] = 0x21;
  b[13] = 0x31;
  b[14] = 0;
  b[15] = 216;
  assert.deepEqual(parse(b), { status: "done", length: 232, header: { version: 2, local: false, addresses: null } });
});

test("accept modes: v1 only, v2 only, any", () => {
  const v1 = writeV1(ADDRS), v2 = writeV2(ADDRS);
  assert.equal(parse(v1, "v1").status, "done");
  assert.match(reason(parse(v2, "v1")), /not a PROXY protocol v1 header/);
  assert.equal(parse(v2, "v2").status, "done");
  assert.match(reason(parse(v1, "v2")), /not a PROXY protocol v2 header/);
  assert.equal(parse(v1, "any").status, "done");
  assert.equal(parse(v2, "any").status, "done");
  assert.equal(parse(new Uint8Array(0)).status, "incomplete");
});

test("writeProxyHeader: the exact bytes, and mixed families as IPv6", () => {
  const v1 = writeProxyHeader(1, { host: "::ffff:127.0.0.1", port: 5000 }, { host: "127.0.0.1", port: 80 });
  assert.equal(new TextDecoder().decode(v1), "PROXY TCP4 127.0.0.1 127.0.0.1 5000 80\r\n");
  const mixed = writeProxyHeader(1, { host: "1.2.3.4", port: 1 }, { host: "::1", port: 2 });
  assert.equal(new TextDecoder().decode(mixed), "PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n");
  const v2 = writeProxyHeader(2, { host: "1.2.3.4", port: 258 }, { host: "5.6.7.8", port: 80 });
  assert.deepEqual([...v2.subarray(12)], [0x21, 0x11, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 0, 80]);
});

// --- properties ---------------------------------------------------------------------------

const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(b));
const ipv6 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }))
    .map(([from, n, b]) => b.fill(0, from, Math.min(16, from + n))),
).map((b) => formatIpv6(b));
const port = fc.integer({ min: 0, max: 65535 });
const addresses: fc.Arbitrary<ProxyAddresses> = fc.oneof(
  fc.record({ family: fc.constant("tcp4" as const), source: fc.record({ host: ipv4, port }), destination: fc.record({ host: ipv4, port }) }),
  fc.record({ family: fc.constant("tcp6" as const), source: fc.record({ host: ipv6, port }), destination: fc.record({ host: ipv6, port }) }),
);
const header: fc.Arbitrary<ProxyHeader> = fc.oneof(
  fc.record({ version: fc.constant(1 as const), local: fc.constant(false), addresses: fc.option(addresses, { nil: null }) }),
  fc.record({ version: fc.constant(2 as const), local: fc.boolean(), addresses: fc.option(addresses, { nil: null }) })
    .map((h) => (h.local ? { ...h, addresses: null } : h)),
);
const tlvs = fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 4 });

/** fast-check's records have a null prototype; the parser's objects are plain. */
const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x));

function written(h: ProxyHeader, extra: { type: number; value: Uint8Array }[] = []): Uint8Array {
  return h.version === 1 ? writeV1(h.addresses) : writeV2(h.addresses, h.local, extra);
}

test("property: parse(write(x)) = x, with any TLVs and any bytes after the header", () => {
  fc.assert(fc.property(header, tlvs, fc.uint8Array({ maxLength: 64 }), (h, t, after) => {
    const bytes = written(h, t);
    const input = new Uint8Array(bytes.length + after.length);
    input.set(bytes);
    input.set(after, bytes.length);
    const mode: AcceptMode = h.version === 1 ? "v1" : "v2";
    for (const accept of [mode, "any"] as const) {
      assert.deepEqual(parse(input, accept), { status: "done", length: bytes.length, header: plain(h) });
    }
  }), { numRuns: 500 });
});

/** Every prefix is INCOMPLETE or the whole input's result, and once judged stays so. */
function splitsAgree(input: Uint8Array, accept: AcceptMode): void {
  const whole = parse(input, accept);
  let judged = false;
  for (let k = 0; k <= input.length; k++) {
    const r = parseProxyHeader(input, 0, k, accept);
    if (r.status === "incomplete") {
      assert.equal(judged, false, `prefix ${k} incomplete after a judged prefix`);
      continue;
    }
    judged = true;
    assert.deepEqual(r, whole, `prefix of ${k} bytes`);
  }
}

const mutated = fc.tuple(header, tlvs, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }))
  .map(([h, t, edits]) => {
    const b = written(h, t).slice();
    for (const [at, v] of edits) b[at % b.length] = v;
    return b;
  });

test("property: any split of the input gives the same result (valid, mutated and random input)", () => {
  const input = fc.oneof(header.map((h) => written(h)), mutated, fc.uint8Array({ maxLength: 120 }));
  fc.assert(fc.property(input, fc.constantFrom<AcceptMode>("v1", "v2", "any"), (bytes, accept) => splitsAgree(bytes, accept)), { numRuns: 400 });
});

test("property: random bytes never throw, and a result's length stays inside the input", () => {
  const prefixes = fc.constantFrom(new Uint8Array(0), text("PROXY "), text("PROXY TCP4 "), V2_SIGNATURE, Uint8Array.of(...V2_SIGNATURE, 0x21, 0x11));
  fc.assert(fc.property(prefixes, fc.uint8Array({ maxLength: 300 }), fc.constantFrom<AcceptMode>("v1", "v2", "any"), (p, rest, accept) => {
    const input = new Uint8Array(p.length + rest.length);
    input.set(p);
    input.set(rest, p.length);
    const r = parse(input, accept);
    if (r.status === "done") assert.ok(r.length > 0 && r.length <= input.length);
  }), { numRuns: 2000 });
});

// --- CIDR -----------------------------------------------------------------------------------

test("cidr: networks, single hosts, IPv4-mapped peers", () => {
  const set = new CidrSet(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "0.0.0.0/0"].slice(0, 3));
  assert.equal(set.has("10.200.1.1"), true);
  assert.equal(set.has("11.0.0.1"), false);
  assert.equal(set.has("192.0.2.7"), true);
  assert.equal(set.has("192.0.2.8"), false);
  assert.equal(set.has("::ffff:10.1.1.1"), true);
  assert.equal(set.has("2001:db8:ffff::1"), true);
  assert.equal(set.has("2001:db9::1"), false);
  assert.equal(set.has("not an ip"), false);
  assert.equal(new CidrSet(["172.16.0.0/12"]).has("172.31.255.255"), true);
  assert.equal(new CidrSet(["172.16.0.0/12"]).has("172.32.0.0"), false);
  assert.equal(new CidrSet(["0.0.0.0/0"]).has("8.8.8.8"), true);
  assert.equal(new CidrSet(["::/0"]).has("8.8.8.8"), false);
});

test("cidr: bad entries say what is wrong", () => {
  assert.throws(() => parseCidr("10.0.0.0/33"), /prefix length in "10.0.0.0\/33" must be from 0 to 32/);
  assert.throws(() => parseCidr("10.0.0.1/8"), /bits set past \/8/);
  assert.throws(() => parseCidr("example.com/8"), /expected an address or CIDR/);
  assert.throws(() => parseCidr("10.0.0.0/08"), RangeError);
  assert.deepEqual(parseCidr("::1"), { bytes: Uint8Array.of(...new Array(15).fill(0), 1), prefix: 128 });
});

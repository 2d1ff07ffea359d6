/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt), v1 and v2: pure
 * parsing and writing, with no I/O. The data plane's side is
 * `src/dataplane/proxy_header.ts`.
 *
 * ```ts
 * const r = parseProxyHeader(buf, 0, n, "any");
 * if (r.status === "done") use(r.header.addresses?.source, r.length);
 * const bytes = writeProxyHeader(2, { host: "192.0.2.1", port: 5000 }, { host: "10.0.0.1", port: 80 });
 * ```
 *
 * @module
 */
export { type Cidr, CidrSet, parseCidr } from "./cidr.ts";
export { type Address, canonicalIpv6, formatIpv4, formatIpv6, unmapped } from "./ip.ts";
export { MAX_HEADER_BYTES, parseProxyHeader, writeProxyHeader } from "./parse.ts";
export * from "./types.ts";
export { parseV1, V1_MAX_BYTES, writeV1 } from "./v1.ts";
export { parseV2, type Tlv, V2_MAX_BYTES, V2_SIGNATURE, writeV2 } from "./v2.ts";

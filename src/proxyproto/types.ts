/**
 * What a PROXY protocol header says (HAProxy's proxy-protocol.txt, v1 and v2).
 *
 * @module
 */
import type { Address } from "./ip.ts";

/** The header version. */
export type ProxyVersion = 1 | 2;

/** Which header versions a listener accepts. */
export type AcceptMode = "v1" | "v2" | "any";

/** The original connection's endpoints, as the header's sender saw them. */
export interface ProxyAddresses {
  readonly family: "tcp4" | "tcp6";
  readonly source: Address;
  readonly destination: Address;
}

/** One parsed (or to be written) header. */
export interface ProxyHeader {
  readonly version: ProxyVersion;
  /**
   * v2 LOCAL (a health check of the sender itself); always false for v1.
   * A LOCAL header's addresses are ignored.
   */
  readonly local: boolean;
  /**
   * The original endpoints, or null when the receiver keeps the socket's own:
   * v1 UNKNOWN, v2 LOCAL, v2 UNSPEC and v2 AF_UNIX.
   */
  readonly addresses: ProxyAddresses | null;
}

/** More bytes are needed before the header can be judged. */
export const INCOMPLETE = { status: "incomplete" } as const;

/** The bytes are not a header this listener accepts; the connection is refused. */
export interface Invalid {
  readonly status: "invalid";
  readonly reason: string;
}

/** A whole header of `length` bytes. */
export interface Parsed {
  readonly status: "done";
  readonly length: number;
  readonly header: ProxyHeader;
}

/** Result of parsing the start of a connection's bytes. */
export type ParseResult = typeof INCOMPLETE | Invalid | Parsed;

/** An Invalid result. */
export function invalid(reason: string): Invalid {
  return { status: "invalid", reason };
}

/**
 * The per-connection log of TCP and TLS passthrough listeners (`accessLog`):
 * one JSON line when a connection closes, through the same bounded writer as
 * HTTP's access log (./h1/access_log.ts: drops counted, reopened on SIGUSR1).
 *
 * Nothing here runs when the listener has no log: a session keeps its close
 * reason in a field (a string constant, set where it closes) and reads its
 * streams' byte counts, which it keeps anyway; the record and its strings are
 * only built for a listener that logs.
 *
 * @module
 */
import { formatEndpoint } from "../../ffi/sockaddr.ts";
import type { Sys } from "../../ffi/sys.ts";
import type { UpstreamTarget } from "./context.ts";
import { peerAddress } from "./io/sockets.ts";
import type { Tunnel } from "./io/tunnel.ts";
import type { ClientOrigin } from "./proxy_header.ts";

/**
 * Why a connection closed. `eof`: both directions ended cleanly; `reset`: a
 * socket failed either side (ECONNRESET, EPIPE); `idle_timeout`: no byte moved
 * for `idleTimeout`; `send_timeout`: a destination took nothing for
 * `sendTimeout` while bytes waited; `drain`: cut at the grace deadline of a
 * shutdown or reload; `connect_failed` / `connect_timeout`: no upstream was
 * reached (the last attempt was refused / timed out); `no_upstream`: none was
 * usable to try; `error`: the proxy closed it after an internal error.
 * TLS passthrough adds `client_closed` (before a ClientHello byte),
 * `tls_bad_hello`, `tls_hello_timeout` and `tls_no_route`; a listener that
 * accepts the PROXY protocol adds `proxy_protocol_refused` (a malformed,
 * partial or late header) and `proxy_protocol_untrusted` (a peer outside
 * `trustedProxies`), closed before a byte was read for an upstream.
 */
export type CloseReason =
  | "eof"
  | "reset"
  | "idle_timeout"
  | "send_timeout"
  | "drain"
  | "connect_failed"
  | "connect_timeout"
  | "no_upstream"
  | "error"
  | "client_closed"
  | "tls_bad_hello"
  | "tls_hello_timeout"
  | "tls_no_route"
  | "proxy_protocol_refused"
  | "proxy_protocol_untrusted";

/** One closed connection's line. Field names are part of the log's interface. */
export interface ConnectionRecord {
  /** When it closed (ISO 8601, UTC). */
  time: string;
  listener: string;
  /** The client's `ip:port` (an accepted PROXY header's source, else the socket's peer). */
  client: string;
  /** The upstream's id (`listener/host:port`), or null when none was reached. */
  upstream: string | null;
  bytes_client_to_upstream: number;
  bytes_upstream_to_client: number;
  /** Of both directions, the bytes moved by splice(2) and those copied through the worker. */
  bytes_spliced: number;
  bytes_copied: number;
  /** From accept to close. */
  duration_seconds: number;
  reason: CloseReason;
  /** TLS passthrough: the ClientHello's server name ("" when it sent none; left out before one was read). */
  sni?: string;
}

/** The client's `ip:port`, read at accept: a socket the client reset has no peer to ask for at close. */
export function clientEndpoint(sys: Sys, fd: number, origin: ClientOrigin | null): string {
  if (origin) return formatEndpoint(origin.source);
  const peer = peerAddress(sys, fd);
  return peer ? formatEndpoint(peer) : "";
}

/** The line of a connection closed `reason` after `ms` before any byte moved (a refused PROXY header). */
export function refusedRecord(listener: string, client: string, ms: number, reason: CloseReason): ConnectionRecord {
  return {
    time: new Date().toISOString(), listener, client, upstream: null,
    bytes_client_to_upstream: 0, bytes_upstream_to_client: 0, bytes_spliced: 0, bytes_copied: 0,
    duration_seconds: Math.round(ms) / 1000, reason,
  };
}

/** The line of a connection that closed `reason` after `ms` (its upstream: null when none was reached). */
export function connectionRecord(
  listener: string,
  client: string,
  upstream: UpstreamTarget | null,
  tunnel: Tunnel,
  ms: number,
  reason: CloseReason,
): ConnectionRecord {
  const { forward: c2u, backward: u2c } = tunnel;
  return {
    time: new Date().toISOString(), listener, client, upstream: upstream?.id ?? null,
    bytes_client_to_upstream: c2u.moved, bytes_upstream_to_client: u2c.moved,
    bytes_spliced: c2u.spliced + u2c.spliced, bytes_copied: c2u.copied + u2c.copied,
    duration_seconds: Math.round(ms) / 1000, reason,
  };
}

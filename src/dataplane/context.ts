/**
 * What the pieces of one data-plane worker share.
 *
 * @module
 */
import type { Sys } from "../../ffi/sys.ts";
import type { Balancer } from "../balance/balancer.ts";
import type { AccessLog } from "./h1/access_log.ts";
import type { EventLoop } from "./io/loop.ts";
import type { IoContext } from "./io/stream.ts";
import type { ProxyAcceptSettings } from "./proxy_header.ts";

/** An upstream as a worker sees it: a resolved, encoded address. */
export interface UpstreamTarget {
  /** Global upstream index (stats scope, control slot). */
  readonly index: number;
  /** `listener/host:port`. */
  readonly id: string;
  readonly family: number;
  readonly addr: Uint8Array;
  readonly addrLen: number;
  /** Slot base of its counters. */
  readonly base: number;
  /** Passive health: failures in a row by traffic that mark it down. */
  readonly fall: number;
  /** Passive health: HTTP 5xx counts as a failure. */
  readonly count5xx: boolean;
}

/** Per-listener settings a session needs. */
export interface ListenerSettings {
  readonly index: number;
  readonly name: string;
  /** Slot base of its counters. */
  readonly base: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** A stalled destination (zero window) ends the connection after this long. */
  readonly sendTimeoutMs: number;
  readonly balancer: Balancer;
  /** Connections start with a PROXY header (src/dataplane/proxy_header.ts). */
  readonly proxyAccept?: ProxyAcceptSettings;
  /** TCP: the PROXY header version sent first to the upstream. */
  readonly sendProxyProtocol?: "v1" | "v2";
  /** Where a line per request (HTTP) or per closed connection (TCP, TLS) goes; undefined: nowhere. */
  readonly accessLog?: AccessLog;
}

/** One open connection as listed by the admin API (`GET /stats/connections`). */
export interface ConnectionInfo {
  readonly listener: string;
  readonly client: string;
  readonly upstream: string;
  readonly state: string;
  readonly age_seconds: number;
  readonly bytes_client_to_upstream: number;
  readonly bytes_upstream_to_client: number;
  readonly bytes_spliced: number;
  readonly bytes_copied: number;
  /** TLS passthrough: the server name the ClientHello asked for ("" when it sent none). */
  readonly sni?: string;
  /** TLS passthrough: the ALPN protocols the ClientHello offered, in its order. */
  readonly alpn?: readonly string[];
  /** The data-plane worker that holds it (set by the main thread). */
  readonly worker?: number;
}

/** A live connection the worker tracks (for timeouts and shutdown). */
export interface Session {
  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo;
  /** Called by the sweep; closes the session if a deadline passed. */
  checkTimers(now: number): void;
  /** Closes at once (shutdown past the grace period). */
  abort(): void;
  /**
   * Graceful shutdown began: finish what is in flight, keep nothing alive.
   * `soft`: a reload, whose new generation takes over the listener; idle
   * connections may wait a moment for a request they are about to send.
   */
  drain(soft?: boolean): void;
}

/** Something that stopped with work left and wants to be run again soon. */
export interface Resumable {
  resume(): void;
}

/** Shared state of one worker. */
export interface WorkerContext {
  readonly sys: Sys;
  readonly loop: EventLoop;
  readonly io: IoContext;
  readonly counters: Float64Array;
  readonly upstreams: readonly UpstreamTarget[];
  /** The shared upstream control array (balance/balancer.ts): passive health writes S_FAILURES and S_HEALTH. */
  readonly upstreamControl: Int32Array;
  /** Monotonic milliseconds, refreshed once per epoll batch. */
  now: number;
  /** Runs `session.resume()` after the next epoll batch (a stream used its byte budget). */
  runLater(session: Resumable): void;
  /** A session ended; the worker forgets it and updates limits. */
  sessionClosed(session: Session, listener: ListenerSettings): void;
}

/**
 * What the pieces of one data-plane worker share.
 *
 * @module
 */
import type { Sys } from "../../ffi/sys.ts";
import type { Balancer } from "../balance/balancer.ts";
import type { EventLoop } from "./loop.ts";
import type { PumpContext } from "./pump.ts";

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
}

/** Per-listener settings a session needs. */
export interface ListenerSettings {
  readonly index: number;
  readonly name: string;
  /** Slot base of its counters. */
  readonly base: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly balancer: Balancer;
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
}

/** A live connection the worker tracks (for timeouts and shutdown). */
export interface Session {
  /** A snapshot for the admin's connection list. */
  describe(now: number): ConnectionInfo;
  /** Called by the sweep; closes the session if a deadline passed. */
  checkTimers(now: number): void;
  /** Closes at once (shutdown past the grace period). */
  abort(): void;
  /** Graceful shutdown began: finish what is in flight, keep nothing alive. */
  drain(): void;
}

/** Shared state of one worker. */
export interface WorkerContext {
  readonly sys: Sys;
  readonly loop: EventLoop;
  readonly pump: PumpContext;
  readonly counters: Float64Array;
  readonly upstreams: readonly UpstreamTarget[];
  /** Monotonic milliseconds, refreshed once per epoll batch. */
  now: number;
  /** A session ended; the worker forgets it and updates limits. */
  sessionClosed(session: Session, listener: ListenerSettings): void;
}

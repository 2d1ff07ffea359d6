/**
 * Messages between the main thread and data-plane workers.
 *
 * The main thread posts a message, bumps `control[CONTROL_SEQ]` and writes
 * the worker's eventfd; the worker, woken from epoll_wait, yields to its event
 * loop until it has received as many messages as the sequence says.
 *
 * @module
 */
import type { BalanceInit } from "../balance/policies.ts";
import type { ConnectionInfo } from "./context.ts";

/** Slot in the control Int32Array: number of messages posted to the worker. */
export const CONTROL_SEQ = 0;
/** Slots in a worker's control Int32Array. */
export const CONTROL_SIZE = 4;

/** An upstream as sent to workers: already resolved to an IP literal. */
export interface UpstreamInit {
  readonly index: number;
  /** `listener/host:port` (TCP) or `listener/route/host:port` (HTTP). */
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** The balancing group (a TCP listener's or an HTTP route's upstreams). */
  readonly group: number;
  /** The config weight: the initial weight, and its share of a Maglev table (default 1). */
  readonly weight?: number;
  /** Gets traffic only when no primary upstream of its group is usable. */
  readonly backup?: boolean;
  /** Passive health: this many failures in a row by traffic mark it down (default 3; see src/health/). */
  readonly passiveFall?: number;
  /** Passive health: an HTTP 5xx response counts as a failure (and any other as a success). */
  readonly passive5xx?: boolean;
}

/** Header changes of a route. */
export interface HeaderOps {
  readonly set: Readonly<Record<string, string>>;
  readonly remove: readonly string[];
}

/** An HTTP route as sent to workers. */
export interface RouteInit {
  /** Global route index (stats scope). */
  readonly index: number;
  /** `listener/route`. */
  readonly id: string;
  readonly host: string | undefined;
  readonly path: string;
  readonly stripPrefix: boolean;
  /** Balancing group of its upstreams, or -1 for a static route. */
  readonly group: number;
  readonly staticRoot: string | undefined;
  readonly staticIndex: string;
  /** "allow" serves dotfiles; "deny" (the default) answers 404 for any segment starting with ".". */
  readonly staticDotfiles: "deny" | "allow";
  readonly requestHeaders: HeaderOps | undefined;
  readonly responseHeaders: HeaderOps | undefined;
  readonly maxBodySize: number;
  /** HTTP: the PROXY header sent first on each new upstream connection (the route's, else the listener's). */
  readonly sendProxyProtocol?: "v1" | "v2";
}

/** HTTP settings of a listener. */
export interface HttpInit {
  readonly headTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly maxHeadBytes: number;
  readonly upstreamKeepAlive: number;
  readonly accessLog: string;
  /** The header that carries each request's id (kept from the request, or made); undefined: no ids. */
  readonly requestIdHeader?: string;
  readonly routes: readonly RouteInit[];
}

/** A listener as sent to one worker, with that worker's own socket. */
export interface ListenerInit {
  readonly index: number;
  readonly name: string;
  readonly fd: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** A stalled destination (zero window, bytes waiting) ends the connection after this long (TCP and HTTP). */
  readonly sendTimeoutMs: number;
  readonly maxConnections: number;
  readonly mode: "tcp" | "http" | "tls";
  /** TCP: the balancing group of its upstreams. */
  readonly group: number;
  /** HTTP: routes and settings. */
  readonly http: HttpInit | undefined;
  /** TLS passthrough: routes by SNI and the ClientHello timeout. */
  readonly tls?: TlsInit | undefined;
  /** Every connection starts with a PROXY header of this version (see src/dataplane/proxy_header.ts). */
  readonly acceptProxyProtocol?: "v1" | "v2" | "any";
  /** Addresses and CIDRs allowed to send that header. */
  readonly trustedProxies?: readonly string[];
  /** TCP: the PROXY header sent first to the upstream. */
  readonly sendProxyProtocol?: "v1" | "v2";
  /** TCP and TLS: the per-connection log's target ("off", "-" or a file path; HTTP's is `http.accessLog`). */
  readonly accessLog?: string;
}

/** TLS passthrough settings of a listener. */
export interface TlsInit {
  /** A ClientHello not complete this long after accept closes the connection. */
  readonly clientHelloTimeoutMs: number;
  /** Routes by SNI (`host` is the `sni` pattern; undefined for the default route). */
  readonly routes: readonly RouteInit[];
}

/** Everything a worker needs to start. */
export interface WorkerInit {
  readonly type: "init";
  readonly workerIndex: number;
  readonly pipeSize: number;
  readonly listeners: readonly ListenerInit[];
  readonly upstreams: readonly UpstreamInit[];
  /** Global upstream indexes of each balancing group. */
  readonly groups: readonly (readonly number[])[];
  /** Balancing algorithm of each group (default round robin). */
  readonly balance?: readonly BalanceInit[];
  /** Number of HTTP routes across listeners (stats scopes). */
  readonly routeCount: number;
  /** This worker's counters (single writer: the worker). */
  readonly counters: SharedArrayBuffer;
  /** Shared Int32Array: active connections per listener, across workers. */
  readonly active: SharedArrayBuffer;
  /** Shared Int32Array: upstream state and weight (see balance/balancer.ts). */
  readonly upstreamControl: SharedArrayBuffer;
  /** This worker's control Int32Array. */
  readonly control: SharedArrayBuffer;
  /** The eventfd the main thread writes to wake this worker. */
  readonly wakeFd: number;
}

/** Commands from the main thread after init. */
export type WorkerCommand =
  | { readonly type: "drain" }
  | { readonly type: "retire" }
  | { readonly type: "stop" }
  | { readonly type: "connections"; readonly id: number; readonly limit: number }
  /** Close and reopen file access logs (SIGUSR1, after logrotate moved them). */
  | { readonly type: "reopen-logs" }
  /** Test-only (SPLICED_TEST_HOOKS=1): throw from the next sweep, to prove a failed worker is replaced. */
  | { readonly type: "inject-fault" };

/** Reports from a worker. */
export type WorkerReport =
  | { readonly type: "ready" }
  | { readonly type: "drained" }
  /** `drain`: connections open when the drain began, and those `stop` closed (for the `drained` log line). */
  | { readonly type: "stopped"; readonly drain?: { readonly open: number; readonly cut: number } }
  /** A line for the main thread's log (workers have none of their own). */
  | { readonly type: "log"; readonly level: "error" | "warn"; readonly event: string; readonly msg: string; readonly fields?: Readonly<Record<string, unknown>> }
  | { readonly type: "retired" }
  | { readonly type: "connections"; readonly id: number; readonly list: ConnectionInfo[] }
  | { readonly type: "error"; readonly message: string }
  /** The data plane threw out of its loop; it closed its connections and stops. The main thread starts another. */
  | { readonly type: "crashed"; readonly message: string };

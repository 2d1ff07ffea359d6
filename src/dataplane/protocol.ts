/**
 * Messages between the main thread and data-plane workers.
 *
 * The main thread posts a message, bumps `control[CONTROL_SEQ]` and writes
 * the worker's eventfd; the worker, woken from epoll_wait, yields to its event
 * loop until it has received as many messages as the sequence says.
 *
 * @module
 */
import type { ConnectionInfo } from "./context.ts";

/** Slot in the control Int32Array: number of messages posted to the worker. */
export const CONTROL_SEQ = 0;
/** Slots in a worker's control Int32Array. */
export const CONTROL_SIZE = 4;

/** An upstream as sent to workers: already resolved to an IP literal. */
export interface UpstreamInit {
  readonly index: number;
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

/** A listener as sent to one worker, with that worker's own socket. */
export interface ListenerInit {
  readonly index: number;
  readonly name: string;
  readonly fd: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  /** Global upstream indexes of this listener's group. */
  readonly upstreams: readonly number[];
}

/** Everything a worker needs to start. */
export interface WorkerInit {
  readonly type: "init";
  readonly workerIndex: number;
  readonly pipeSize: number;
  readonly listeners: readonly ListenerInit[];
  readonly upstreams: readonly UpstreamInit[];
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
  | { readonly type: "connections"; readonly id: number; readonly limit: number };

/** Reports from a worker. */
export type WorkerReport =
  | { readonly type: "ready" }
  | { readonly type: "drained" }
  | { readonly type: "stopped" }
  | { readonly type: "retired" }
  | { readonly type: "connections"; readonly id: number; readonly list: ConnectionInfo[] }
  | { readonly type: "error"; readonly message: string };

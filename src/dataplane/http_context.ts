/**
 * What HTTP sessions need beyond the TCP worker context.
 *
 * @module
 */
import type { Balancer } from "../balance/balancer.ts";
import type { AccessLog } from "./h1/access_log.ts";
import type { ListenerSettings, WorkerContext } from "./context.ts";
import type { HttpInit } from "./protocol.ts";
import type { UpstreamPool } from "./upstream/pool.ts";

/** The worker context with HTTP's shared parts. */
export interface HttpWorkerContext extends WorkerContext {
  readonly upstreamPool: UpstreamPool;
  /** Counter slot base of route `index` (global route index). */
  routeBase(index: number): number;
}

/** An HTTP listener's settings in a worker. */
export interface HttpListenerSettings extends ListenerSettings {
  readonly http: HttpInit;
  /** Balancers by group index (shared by the worker's listeners). */
  readonly balancers: readonly Balancer[];
  readonly accessLog: AccessLog | undefined;
}

/**
 * The one adapter between the admin app and the runtime's own HTTP server
 * (`Deno.serve` or `Bun.serve`). Nothing else outside ffi/ names a runtime.
 *
 * @module
 */
import { formatEndpoint, type IpEndpoint } from "../../ffi/sockaddr.ts";
import { currentRuntime } from "../../ffi/mod.ts";

/** A fetch-style request handler. */
export type FetchHandler = (req: Request) => Response | Promise<Response>;

/** A running HTTP server. */
export interface Served {
  readonly address: IpEndpoint;
  close(): Promise<void>;
}

/** Thrown when the admin address cannot be bound. */
export class ServeError extends Error {
  override name = "ServeError";
}

/** Serves `handler` on `host:port` (port 0 picks one) with the runtime's HTTP server. */
export async function serve(handler: FetchHandler, ep: IpEndpoint): Promise<Served> {
  try {
    return currentRuntime() === "bun" ? serveBun(handler, ep) : await serveDeno(handler, ep);
  } catch (err) {
    throw new ServeError(`listen ${formatEndpoint(ep)}: ${reason(err)}`);
  }
}

function reason(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  if (e.code === "EADDRINUSE" || e.name === "AddrInUse" || /in use/i.test(e.message ?? "")) return "address already in use";
  if (e.code === "EACCES" || e.name === "PermissionDenied") return "permission denied";
  return e.message ?? String(err);
}

function serveBun(handler: FetchHandler, ep: IpEndpoint): Served {
  // deno-lint-ignore no-explicit-any
  const bun = (globalThis as any).Bun;
  const server = bun.serve({ hostname: ep.host, port: ep.port, fetch: handler, idleTimeout: 0 });
  return {
    address: { host: ep.host, port: server.port },
    close: async () => void (await server.stop(true)),
  };
}

async function serveDeno(handler: FetchHandler, ep: IpEndpoint): Promise<Served> {
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  const server = deno.serve({ hostname: ep.host, port: ep.port, onListen: () => {} }, handler);
  const addr = server.addr as { hostname: string; port: number };
  return {
    address: { host: ep.host, port: addr.port },
    close: async () => {
      await server.shutdown();
    },
  };
}

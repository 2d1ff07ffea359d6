/**
 * Serves a fetch handler with the runtime's own HTTP server, as a library user
 * would mount adminApp. The one test support module allowed to name the
 * runtime globals (see test/boundary.test.ts).
 *
 * @module
 */
/** Serves a fetch handler with the runtime's own server, as a library user would mount adminApp. */
export function serveNative(fetch: (req: Request, env: unknown) => Response | Promise<Response>, hostname: string) {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) {
    const server = g.Bun.serve({ hostname, port: 0, fetch });
    return { port: server.port as number, close: async () => void (await server.stop(true)) };
  }
  const server = g.Deno.serve({ hostname, port: 0, onListen: () => {} }, fetch);
  return { port: server.addr.port as number, close: async () => void (await server.shutdown()) };
}

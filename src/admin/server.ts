/**
 * Runs the admin app on its own address for a proxy started with `admin.listen`.
 *
 * @module
 */
import type { IpEndpoint } from "../../ffi/sockaddr.ts";
import { parseHostPort, resolveHost } from "../address.ts";
import type { Proxy } from "../proxy.ts";
import { adminApp } from "./app.ts";
import { serve } from "./serve.ts";

/** An admin server waiting for its proxy. */
export interface AdminServer {
  address(): IpEndpoint;
  attach(proxy: Proxy): void;
  close(): Promise<void>;
}

/** Binds the admin address now (so a busy port fails the start); serves once attached. */
export async function serveAdminFor(listen: string): Promise<AdminServer> {
  const { host, port } = parseHostPort(listen);
  let handler: ((req: Request) => Response | Promise<Response>) | undefined;
  const served = await serve(
    (req) => handler ? handler(req) : new Response("starting", { status: 503 }),
    { host: await resolveHost(host), port },
  );
  return {
    address: () => served.address,
    attach: (proxy) => {
      const app = adminApp(proxy);
      handler = (req) => app.fetch(req);
    },
    close: () => served.close(),
  };
}

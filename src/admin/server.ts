/**
 * Runs the admin app on its own address for a proxy started with `admin.listen`.
 *
 * Access rules (see auth.ts): on a loopback address reads are open (to loopback
 * Host names only) and control needs the token; elsewhere everything needs it,
 * and no token means no start.
 *
 * @module
 */
import type { IpEndpoint } from "../../ffi/sockaddr.ts";
import { parseHostPort, resolveHost } from "../address.ts";
import type { Proxy } from "../proxy.ts";
import { createAdmin, type Admin } from "./app.ts";
import { accessFor, type AdminAccess, type AdminAuthConfig, type TokenSource } from "./auth.ts";
import { errorBody } from "./errors.ts";
import { processLog } from "../log/logger.ts";
import { serve, type ServeLimits } from "./serve.ts";

/** An admin server waiting for its proxy. */
export interface AdminServer {
  address(): IpEndpoint;
  attach(proxy: Proxy): void;
  close(): Promise<void>;
}

type Handler = (req: Request) => Response | Promise<Response>;

/**
 * What the admin API did (control.ts words it), as `spliced: admin: LINE`:
 * a reload through it is the event `reload` or `reload_failed`, as a SIGHUP's;
 * anything else `admin_action`.
 */
function logAdminAction(line: string): void {
  const fields = { trigger: "admin" };
  const text = `admin: ${line}`;
  if (/^reloaded /.test(line)) return processLog.info("reload", text, fields);
  if (/^POST \/reload: reload failed/.test(line)) {
    return processLog.error("reload_failed", text, { ...fields, error: line.replace(/^.*?previous config: /, "") });
  }
  processLog.info("admin_action", text, fields);
}

/** The `admin` config block as the server reads it (limits optional: defaults apply). */
export type AdminServerConfig = AdminAuthConfig & {
  readonly idleTimeout?: number;
  readonly maxEventStreams?: number;
  /** Not a config key yet: read when present. */
  readonly maxConnections?: number;
};

function limitsOf(admin: AdminServerConfig | undefined): ServeLimits {
  return { idleTimeoutMs: admin?.idleTimeout, maxConnections: admin?.maxConnections };
}

/**
 * Binds the admin address now (so a busy port fails the start); serves once attached.
 * Given the whole `admin` block, it checks the token first and throws ConfigError
 * (before binding) for a non-loopback address without one. Given only the address,
 * it reads the token from the proxy's config when attached, and answers 503 to
 * everything if that check fails.
 */
export async function serveAdminFor(admin: string | AdminServerConfig, from: TokenSource = {}): Promise<AdminServer> {
  const block: AdminServerConfig = typeof admin === "string" ? { listen: admin } : admin;
  const ip = await resolveHost(parseHostPort(block.listen).host);
  let access: AdminAccess | undefined = typeof admin === "string" ? undefined : accessFor(block, ip, from);
  let handler: Handler | undefined;
  let app: Admin | undefined;
  const served = await serve(
    (req) => handler ? handler(req) : new Response("starting", { status: 503 }),
    { host: ip, port: parseHostPort(block.listen).port },
    limitsOf(block),
  );
  return {
    address: () => served.address,
    attach: (proxy) => {
      try {
        access ??= accessFor({ ...proxy.config.admin, listen: block.listen }, ip, from);
        if (typeof admin === "string") served.setLimits(limitsOf(proxy.config.admin));
        app = createAdmin(proxy, {
          token: access.token,
          readsNeedToken: !access.loopback,
          loopbackHostsOnly: access.loopback,
          log: logAdminAction,
        });
        const hono = app.app;
        handler = (req) => hono.fetch(req);
      } catch (err) {
        // Fail closed: never serve an unprotected admin API.
        const message = `admin API disabled: ${(err as Error).message}`;
        processLog.error("admin_disabled", message, { error: (err as Error).message });
        handler = () => Response.json(errorBody("admin_misconfigured", message), { status: 503 });
      }
    },
    close: async () => {
      app?.closeStreams();
      await served.close();
    },
  };
}

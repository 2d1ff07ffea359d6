/**
 * Admin API access control.
 *
 * - The token comes from, in order: `admin.tokenFile` (which
 *   `--admin-token-file` sets), `admin.token`, the `SPLICED_ADMIN_TOKEN`
 *   environment variable. At least 16 characters.
 * - Control endpoints (every method but GET/HEAD) always need it, as
 *   `Authorization: Bearer TOKEN`; without a configured token they are refused.
 * - On a non-loopback address every endpoint needs it (the dashboard's static
 *   page and assets excepted: they hold no data), and the admin server refuses
 *   to start there without a token.
 * - Tokens are compared in constant time (SHA-256 digests, timingSafeEqual).
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import process from "node:process";
import { parseHostPort, resolveHost } from "../address.ts";
import { readConfiguredFile } from "../config.ts";
import { ConfigError } from "../errors.ts";

/** Environment variable that may hold the admin token. */
export const TOKEN_ENV = "SPLICED_ADMIN_TOKEN";
/** Shortest token accepted from any source. */
export const MIN_TOKEN_LENGTH = 16;

/** The parts of the `admin` config block this module reads. */
export interface AdminAuthConfig {
  readonly listen: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

/** Where the token settings came from, for error messages. */
export interface TokenSource {
  /** Named in errors: the config file, "command line" or "config". */
  readonly source?: string;
  /** Field named for a bad token file (default `admin.tokenFile`; the CLI says `--admin-token-file`). */
  readonly tokenFileField?: string;
  readonly env?: Record<string, string | undefined>;
}

/** What the admin server enforces. */
export interface AdminAccess {
  readonly token: string | undefined;
  /** The admin address is loopback only (reads then need no token). */
  readonly loopback: boolean;
}

/** Reads the token from the config block or the environment; throws ConfigError when a source is bad. */
export function resolveAdminToken(
  admin: Omit<AdminAuthConfig, "listen"> | undefined,
  from: TokenSource = {},
): string | undefined {
  const source = from.source ?? "config";
  if (admin?.tokenFile) {
    const field = from.tokenFileField ?? "admin.tokenFile";
    return checked(readTokenFile(admin.tokenFile, source, field), source, field);
  }
  if (admin?.token) return checked(admin.token, source, "admin.token");
  const env = (from.env ?? process.env)[TOKEN_ENV];
  if (env === undefined || env.trim() === "") return undefined;
  return checked(env.trim(), "environment", TOKEN_ENV);
}

function readTokenFile(path: string, source: string, field: string): string {
  const text = readConfiguredFile(path, source, field, `cannot read token file "${path}"`);
  return text.split(/\r?\n/)[0].trim();
}

function checked(token: string, source: string, field: string): string {
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(source, [{ path: field, message: `admin token too short: use at least ${MIN_TOKEN_LENGTH} characters` }]);
  }
  return token;
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return isIP(ip) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(ip);
}

/**
 * Resolves the token and the admin address; refuses (ConfigError, exit 2) a
 * non-loopback admin address without a token.
 */
export async function adminAccess(admin: AdminAuthConfig, from: TokenSource = {}): Promise<AdminAccess> {
  let ip: string;
  try {
    ip = await resolveHost(parseHostPort(admin.listen).host);
  } catch (err) {
    throw new ConfigError(from.source ?? "config", [{ path: "admin.listen", message: `cannot resolve: ${(err as Error).message}` }]);
  }
  return accessFor(admin, ip, from);
}

/** {@link adminAccess} for an address already resolved to `ip`. */
export function accessFor(admin: AdminAuthConfig, ip: string, from: TokenSource = {}): AdminAccess {
  const token = resolveAdminToken(admin, from);
  const loopback = isLoopback(ip);
  if (!loopback && token === undefined) {
    throw new ConfigError(from.source ?? "config", [{
      path: "admin.listen",
      message: `${admin.listen} is not a loopback address: the admin API needs a token there ` +
        `(--admin-token-file, admin.tokenFile, admin.token or ${TOKEN_ENV})`,
    }]);
  }
  return { token, loopback };
}

/** A token checker that compares in constant time. */
export function tokenChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? "");
    // Compare even when the header is missing, so timing says nothing either way.
    const same = timingSafeEqual(digest(m?.[1] ?? ""), expected);
    return m !== null && same;
  };
}

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/** Host names a browser may use for a loopback admin (DNS-rebinding guard). */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  if (!host) return true; // HTTP/1.0 clients: nothing to check against
  const name = host.startsWith("[") ? host.slice(1, host.indexOf("]")) : host.replace(/:\d+$/, "");
  return name.toLowerCase() === "localhost" || isLoopback(name);
}

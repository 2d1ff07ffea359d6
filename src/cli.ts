/**
 * The `spliced` command line.
 *
 *   spliced tcp --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]
 *   spliced --config FILE            (or: spliced run --config FILE)
 *   spliced check --config FILE
 *   spliced --help | --version
 *
 * Exit codes: 0 ok, 1 runtime failure (e.g. a busy port), 2 bad usage or config.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { loadConfigFile, validateConfig, type ConfigInput } from "./config.ts";
import { ConfigError, SysError, UsageError } from "./errors.ts";
import { formatEndpoint } from "../ffi/sockaddr.ts";
import { FfiUnavailableError } from "../ffi/sys.ts";
import { currentRuntime } from "../ffi/mod.ts";
import { startProxy, type Proxy, type ValidConfig } from "./proxy.ts";
import { ServeError } from "./admin/serve.ts";
import { adminAccess } from "./admin/auth.ts";
import { VERSION } from "./version.ts";

const HELP = `spliced ${VERSION}: zero-copy TCP reverse proxy (splice(2) between sockets)

Usage:
  spliced tcp --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]
  spliced http --listen HOST:PORT --to HOST:PORT[,...] [--upstream-timeout 60s] [--access-log PATH|-|off] [options]
  spliced static --listen HOST:PORT --root DIR [--access-log PATH|-|off] [options]
  spliced --config FILE          run from a JSON config file (also: spliced run --config FILE)
  spliced check --config FILE    validate a config file and exit (SIGHUP reloads a running one)
  spliced --help | --version

Options for tcp:
  --listen HOST:PORT        address to accept on ([::1]:PORT for IPv6; port 0 picks one)
  --to LIST                 upstreams, comma separated, round robin; host names resolved at start
  --workers N               data-plane threads (default: CPU count)
  --admin HOST:PORT         serve the admin API and dashboard on this address
  --admin-token-file PATH   bearer token for the admin API (first line of the file; at least 16
                            characters); needed for control endpoints, and for all of them off loopback
  --connect-timeout DUR     upstream connect timeout, then the next upstream (default 5s)
  --idle-timeout DUR        close a connection that moved no byte this long (default 10m)
  --send-timeout DUR        close a connection whose peer took no byte this long while bytes waited (default 60s)
  --max-connections N       stop accepting past N open connections (default 100000)
  --pipe-size SIZE          splice pipe size (default 1m; the kernel may give less)
  --grace-period DUR        on SIGTERM/SIGINT, time open connections get to finish (default 30s)

Options for http and static (also --workers, --admin, --connect-timeout, --max-connections...):
  --upstream-timeout DUR    504 when the upstream sends no byte of its answer this long (default 60s)
  --access-log TARGET       JSON access log: a file path, - for stdout, or off (default off)
  --idle-timeout DUR        close a client connection idle between requests this long (default 60s)
  --root DIR                static: serve files from DIR by sendfile(2)

Runtime: bin/spliced --runtime bun|deno (or SPLICED_RUNTIME) picks the JavaScript runtime.
Durations: 500ms, 5s, 10m, 1h. Sizes: 65536, 64k, 1m.`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
  config: { type: "string", short: "c" },
  listen: { type: "string" },
  to: { type: "string" },
  workers: { type: "string" },
  admin: { type: "string" },
  "admin-token-file": { type: "string" },
  "connect-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  "send-timeout": { type: "string" },
  "max-connections": { type: "string" },
  "pipe-size": { type: "string" },
  "grace-period": { type: "string" },
  "upstream-timeout": { type: "string" },
  "access-log": { type: "string" },
  root: { type: "string" },
} as const;

/** Commands that describe one listener with flags instead of a config file. */
const FLAG_COMMANDS = ["tcp", "http", "static"];

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** Maps config field paths back to the flag that set them, for error messages. */
const FLAG_OF: Record<string, string> = {
  "listeners[0].listen": "--listen", "listeners[0].upstreams": "--to", workers: "--workers",
  "admin.listen": "--admin", "listeners[0].connectTimeout": "--connect-timeout",
  "listeners[0].idleTimeout": "--idle-timeout", "listeners[0].maxConnections": "--max-connections",
  "listeners[0].sendTimeout": "--send-timeout",
  pipeSize: "--pipe-size", gracePeriod: "--grace-period",
  "listeners[0].upstreamTimeout": "--upstream-timeout", "listeners[0].accessLog": "--access-log",
  "listeners[0].routes[0].upstreams": "--to", "listeners[0].routes[0].static.root": "--root",
};

function parse(argv: string[]): { command: string; values: Values } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
    return { command: positionals[0] ?? (values.config ? "run" : ""), values };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
}

function numberFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return /^\d+$/.test(text) ? Number(text) : (text as unknown as number);
}

function upstreamList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

/** The one listener `tcp`, `http` or `static` describe with flags. */
function flagListener(command: string, v: Values): Record<string, unknown> {
  if (!v.listen) throw new UsageError(`${command} needs --listen HOST:PORT`);
  if (command === "static") {
    if (!v.root) throw new UsageError("static needs --root DIR");
    return { name: "static", mode: "http", listen: v.listen, routes: [{ name: "files", static: { root: v.root } }] };
  }
  if (!v.to) throw new UsageError(`${command} needs --to HOST:PORT[,HOST:PORT...]`);
  if (command === "tcp") return { name: "tcp", mode: "tcp", listen: v.listen, upstreams: upstreamList(v.to) };
  return { name: "http", mode: "http", listen: v.listen, routes: [{ name: "all", upstreams: upstreamList(v.to) }] };
}

function tcpConfig(command: string, v: Values): ConfigInput {
  const listener = flagListener(command, v);
  if (command !== "tcp") {
    if (v["upstream-timeout"]) listener.upstreamTimeout = v["upstream-timeout"];
    if (v["access-log"]) listener.accessLog = v["access-log"];
  }
  if (v["connect-timeout"]) listener.connectTimeout = v["connect-timeout"];
  if (v["idle-timeout"]) listener.idleTimeout = v["idle-timeout"];
  if (v["send-timeout"]) listener.sendTimeout = v["send-timeout"];
  if (v["max-connections"]) listener.maxConnections = numberFlag(v["max-connections"]);
  const cfg: Record<string, unknown> = { listeners: [listener] };
  if (v.workers) cfg.workers = numberFlag(v.workers);
  if (v.admin) cfg.admin = { listen: v.admin };
  if (v["pipe-size"]) cfg.pipeSize = v["pipe-size"];
  if (v["grace-period"]) cfg.gracePeriod = v["grace-period"];
  return cfg as ConfigInput;
}

/** Validates flags with the config schema, naming flags instead of field paths. */
function validateFlags(input: ConfigInput): ValidConfig {
  try {
    return validateConfig(input, "command line");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const issues = err.issues.map((i) => ({ path: FLAG_OF[i.path.replace(/\[\d+\]$/, "")] ?? i.path, message: i.message }));
    throw new ConfigError("command line", issues);
  }
}

function configFrom(command: string, v: Values): ValidConfig {
  if (FLAG_COMMANDS.includes(command)) return validateFlags(tcpConfig(command, v));
  if (!v.config) throw new UsageError(`${command || "spliced"} needs --config FILE (see spliced --help)`);
  const cfg = loadConfigFile(v.config);
  if (v.workers) cfg.workers = validateFlags({ workers: numberFlag(v.workers), listeners: cfg.listeners } as ConfigInput).workers;
  return cfg;
}

/** `--admin-token-file` overrides the config's token settings. */
function withTokenFile(cfg: ValidConfig, path: string | undefined): ValidConfig {
  if (path === undefined) return cfg;
  if (!cfg.admin) throw new UsageError("--admin-token-file needs an admin address (--admin HOST:PORT, or admin.listen in the config)");
  return { ...cfg, admin: { ...cfg.admin, tokenFile: path } };
}

/** Refuses a bad admin token setup, and a non-loopback admin without a token, before binding anything. */
async function checkAdmin(admin: NonNullable<ValidConfig["admin"]>, v: Values): Promise<void> {
  const tokenFileField = v["admin-token-file"] ? "--admin-token-file" : undefined;
  try {
    await adminAccess(admin, { source: v.config ?? "command line", tokenFileField });
  } catch (err) {
    if (v.config !== undefined || !(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.source, err.issues.map((i) => ({ path: FLAG_OF[i.path] ?? i.path, message: i.message })));
  }
}

function announce(proxy: Proxy, runtime: string): void {
  const cfg = proxy.config;
  console.log(`spliced ${VERSION} on ${runtime}, ${cfg.workers} worker${cfg.workers === 1 ? "" : "s"}`);
  for (const l of cfg.listeners) {
    const targets = l.mode === "tcp" ? l.upstreams.join(",") : l.routes.map((r) => r.upstreams?.join(",") ?? `static:${r.static!.root}`).join(" ");
    console.log(`listener ${l.name} ${l.mode} ${formatEndpoint(proxy.address(l.name))} -> ${targets}`);
  }
  const admin = proxy.adminAddress();
  if (admin) console.log(`admin http://${formatEndpoint(admin)}/ (dashboard; API: /stats /metrics /upstreams ...)`);
}

function handleSignals(proxy: Proxy): void {
  let signalled = false;
  const onSignal = (sig: string) => {
    if (signalled) {
      console.error(`spliced: second ${sig}, exiting now`);
      process.exit(1);
    }
    signalled = true;
    console.error(`spliced: ${sig}: draining (grace period ${proxy.config.gracePeriod / 1000}s)`);
    proxy.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  if (proxy.configPath) process.on("SIGHUP", () => reloadOnSignal(proxy));
}

/** SIGHUP: re-read the config file, as nginx and HAProxy do. */
function reloadOnSignal(proxy: Proxy): void {
  proxy.reload().then(
    (cfg) => console.error(`spliced: SIGHUP: reloaded ${proxy.configPath} (${cfg.listeners.length} listeners)`),
    (err) => console.error(`spliced: SIGHUP: reload failed, still running the previous config:\n${err.message}`),
  );
}

async function main(argv: string[]): Promise<number> {
  const { command, values } = parse(argv);
  if (values.help) return void console.log(HELP), 0;
  if (values.version) return void console.log(VERSION), 0;
  if (![...FLAG_COMMANDS, "run", "check"].includes(command)) {
    throw new UsageError(command ? `unknown command "${command}"` : "no command given");
  }
  const config = withTokenFile(configFrom(command, values), values["admin-token-file"]);
  if (config.admin) await checkAdmin(config.admin, values);
  if (command === "check") return void console.log(`${values.config}: ok`), 0;
  const proxy = await startProxy(config, { configPath: values.config });
  announce(proxy, currentRuntime());
  handleSignals(proxy);
  await proxy.closed;
  return 0;
}

function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) {
    console.error(`spliced: ${err.message}\nRun "spliced --help" for usage.`);
    return 2;
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    return 2;
  }
  if (err instanceof SysError || err instanceof ServeError || err instanceof FfiUnavailableError) {
    console.error(`spliced: ${err.message}`);
    return 1;
  }
  console.error(`spliced: internal error: ${err instanceof Error ? err.stack : err}`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => process.exit(exitCodeFor(err)),
);

/**
 * The `spliced` command line.
 *
 *   spliced tcp --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]
 *   spliced http --listen HOST:PORT --to HOST:PORT[,...] [options]
 *   spliced static --listen HOST:PORT --root DIR [options]
 *   spliced --config FILE            (or: spliced run --config FILE)
 *   spliced check --config FILE
 *   spliced COMMAND --help | --help | --version
 *
 * Every mistake is one line naming the flag (or the file and field path) and
 * the problem, never a stack trace. Exit codes: 0 ok, 1 runtime failure (a
 * busy port, a host name that does not resolve), 2 bad usage or config.
 *
 * @module
 */
import process from "node:process";
import { assertPreflight, loadConfigFile, preflightConfig, validateConfig, type ConfigInput } from "./config.ts";
import { suggest } from "./config/suggest.ts";
import { ConfigError, ResolveError, SysError, UnresolvedError, UsageError, type ConfigIssue } from "./errors.ts";
import { formatEndpoint } from "../ffi/sockaddr.ts";
import { FfiUnavailableError } from "../ffi/sys.ts";
import { currentRuntime } from "../ffi/mod.ts";
import { startProxy, type Proxy, type ValidConfig } from "./proxy.ts";
import { ServeError } from "./admin/serve.ts";
import { adminAccess } from "./admin/auth.ts";
import { VERSION } from "./version.ts";

/** One option: its value's name (none for a switch) and its help line. */
interface OptionSpec {
  readonly value?: string;
  readonly short?: string;
  readonly help: string;
}

const OPTIONS: Record<string, OptionSpec> = {
  listen: { value: "HOST:PORT", help: "address to accept on: an IP address ([::1]:PORT for IPv6, 0.0.0.0:PORT for every IPv4 address); port 0 picks one" },
  to: { value: "LIST", help: "upstreams HOST:PORT, comma separated (or --to again), round robin; host names resolved at start" },
  root: { value: "DIR", help: "serve the files under DIR (an existing directory) by sendfile(2)" },
  config: { value: "FILE", short: "c", help: "the JSON config file" },
  workers: { value: "N", help: "data-plane threads (default: CPU count)" },
  admin: { value: "HOST:PORT", help: "serve the admin API and dashboard on this address" },
  "admin-token-file": {
    value: "PATH",
    help: "bearer token for the admin API (first line of the file; at least 16 characters); needed for control endpoints, and for all of them off loopback",
  },
  "connect-timeout": { value: "DUR", help: "upstream connect timeout, then the next upstream (default 5s)" },
  "idle-timeout": { value: "DUR", help: "close a connection that moved no byte this long (default 10m)" },
  "send-timeout": { value: "DUR", help: "close a connection whose peer took no byte this long while bytes waited (default 60s)" },
  "max-connections": { value: "N", help: "stop accepting past N open connections (default 100000)" },
  "pipe-size": { value: "SIZE", help: "splice pipe size (default 1m; the kernel may give less)" },
  "grace-period": { value: "DUR", help: "on SIGTERM/SIGINT, time open connections get to finish (default 30s)" },
  "upstream-timeout": { value: "DUR", help: "504 when the upstream sends no byte of its answer this long (default 60s)" },
  "access-log": { value: "TARGET", help: "JSON access log: a file path (its directory must exist), - for stdout, or off (default off)" },
  "pid-file": { value: "PATH", help: "write the pid here once ready" },
  "upgrade-from": { value: "PIDFILE", help: "zero-downtime upgrade: bind beside the spliced whose pid is in PIDFILE, then tell it to drain" },
  runtime: { value: "bun|deno", help: "the JavaScript runtime (read by bin/spliced, anywhere before --; also SPLICED_RUNTIME)" },
  help: { short: "h", help: "show this help" },
  version: { short: "V", help: "print the version" },
};

/** Always accepted, whatever the command. */
const GLOBAL = ["runtime", "help", "version"];

interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
  readonly options: readonly string[];
  /** Help lines that differ from {@link OPTIONS} for this command. */
  readonly help?: Readonly<Record<string, string>>;
}

const HTTP_IDLE = "close a client connection idle between requests this long (default 60s)";

const COMMANDS: Record<string, CommandSpec> = {
  tcp: {
    usage: "spliced tcp --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]",
    summary: "TCP reverse proxy: payload moves between the sockets by splice(2)",
    options: [
      "listen", "to", "workers", "admin", "admin-token-file", "connect-timeout", "idle-timeout", "send-timeout",
      "max-connections", "pipe-size", "grace-period", "pid-file", "upgrade-from",
    ],
  },
  http: {
    usage: "spliced http --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]",
    summary: "HTTP/1.1 reverse proxy: heads parsed, bodies spliced",
    options: [
      "listen", "to", "workers", "admin", "admin-token-file", "connect-timeout", "upstream-timeout", "idle-timeout",
      "send-timeout", "max-connections", "access-log", "pipe-size", "grace-period", "pid-file", "upgrade-from",
    ],
    help: { "idle-timeout": HTTP_IDLE },
  },
  static: {
    usage: "spliced static --listen HOST:PORT --root DIR [options]",
    summary: "HTTP/1.1 static file server: files sent by sendfile(2)",
    options: [
      "listen", "root", "workers", "admin", "admin-token-file", "idle-timeout", "send-timeout", "max-connections",
      "access-log", "grace-period", "pid-file", "upgrade-from",
    ],
    help: { "idle-timeout": HTTP_IDLE },
  },
  run: {
    usage: "spliced run --config FILE [options]     (also: spliced --config FILE)",
    summary: "run the listeners of a JSON config file; SIGHUP re-reads it",
    options: ["config", "workers", "admin-token-file", "pid-file", "upgrade-from"],
    help: {
      config: "the JSON config file to run",
      workers: "data-plane threads, instead of the file's workers",
      "admin-token-file": "bearer token file for the admin API, instead of the file's admin.tokenFile",
    },
  },
  check: {
    usage: "spliced check --config FILE [options]",
    summary: "check a config file and what it names (addresses, paths, host names), then exit",
    options: ["config", "workers", "admin-token-file"],
    help: {
      config: "the JSON config file to check",
      workers: "data-plane threads, instead of the file's workers",
      "admin-token-file": "bearer token file for the admin API, instead of the file's admin.tokenFile",
    },
  },
};

/** Commands that describe one listener with flags instead of a config file. */
const FLAG_COMMANDS = ["tcp", "http", "static"];
/** Options that describe the listener: no use with --config. */
const LISTENER_OPTIONS = new Set([
  "listen", "to", "root", "admin", "connect-timeout", "idle-timeout", "send-timeout", "max-connections",
  "pipe-size", "grace-period", "upstream-timeout", "access-log",
]);

const UNITS = "Durations: 500ms, 5s, 10m, 1h. Sizes: 65536, 64k, 1m.";

const HELP_COLUMN = 32;
const HELP_WIDTH = 100;

/** `  --name VALUE   help`, the help wrapped at {@link HELP_WIDTH} columns. */
function optionLine(name: string, help: string): string {
  const spec = OPTIONS[name];
  const flag = `  ${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`;
  const lines: string[] = [];
  let line = flag.length < HELP_COLUMN ? flag.padEnd(HELP_COLUMN) : (lines.push(flag), " ".repeat(HELP_COLUMN));
  let empty = true;
  for (const word of help.split(" ")) {
    if (!empty && line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = " ".repeat(HELP_COLUMN);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join("\n");
}

function generalHelp(): string {
  const names = Object.keys(COMMANDS);
  return [
    `spliced ${VERSION}: zero-copy TCP and HTTP/1.1 reverse proxy and static file server`,
    "",
    "Usage:",
    ...names.map((n) => `  ${COMMANDS[n].usage}`),
    "  spliced COMMAND --help         that command's options",
    "  spliced --help | --version",
    "",
    "Commands:",
    ...names.map((n) => `  ${n.padEnd(8)}${COMMANDS[n].summary}`),
    "",
    "Options for every command:",
    optionLine("runtime", OPTIONS.runtime.help),
    optionLine("help", OPTIONS.help.help),
    optionLine("version", OPTIONS.version.help),
    "",
    "Signals: SIGTERM, SIGINT drain and exit (a second one exits at once); SIGHUP re-reads the config",
    "file; SIGUSR1 reopens the access log files; SIGUSR2, SIGPIPE, SIGALRM, SIGWINCH, SIGTTIN and SIGTTOU",
    "are ignored.",
    "Exit codes: 0 ok, 1 runtime failure (a busy port, a host name that does not resolve now), 2 bad",
    "usage or config.",
    UNITS,
  ].join("\n");
}

function commandHelp(command: string): string {
  const spec = COMMANDS[command];
  const lines = [
    `spliced ${command}: ${spec.summary}`,
    "",
    `Usage: ${spec.usage}`,
    "",
    "Options:",
    ...spec.options.map((n) => optionLine(n, spec.help?.[n] ?? OPTIONS[n].help)),
    ...GLOBAL.map((n) => optionLine(n, OPTIONS[n].help)),
  ];
  if (spec.options.some((n) => ["DUR", "SIZE"].includes(OPTIONS[n].value ?? ""))) lines.push("", UNITS);
  return lines.join("\n");
}

/** The command line, parsed. */
interface Parsed {
  readonly command: string;
  /** Given options by long name (`--to` given twice is joined with commas). */
  readonly values: Map<string, string | true>;
}

const SHORT = new Map(Object.entries(OPTIONS).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));

function flagName(arg: string): string {
  return arg.startsWith("--") ? arg.split("=")[0] : arg;
}

/** Our own parser: the same messages on every runtime, and "did you mean". */
function parse(argv: readonly string[]): Parsed {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(OPTIONS, name)) {
        const near = suggest(name, Object.keys(OPTIONS));
        throw new UsageError(`Unknown option '--${name}'${near ? `; did you mean --${near}?` : ""}`, commandIn(argv));
      }
    } else if (arg.startsWith("-") && arg.length > 1) {
      name = SHORT.get(arg.slice(1));
      if (name === undefined) throw new UsageError(`Unknown option '${arg}'`, commandIn(argv));
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = OPTIONS[name];
    let value: string | true = true;
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) value = argv[++i];
      else throw new UsageError(`--${name} needs a value (${spec.value})`, commandIn(argv));
    } else if (inline !== undefined) {
      throw new UsageError(`--${name} takes no value`, commandIn(argv));
    }
    const before = values.get(name);
    if (before !== undefined) {
      if (name !== "to") throw new UsageError(`--${name} given twice`, commandIn(argv));
      value = `${before},${value}`;
    }
    values.set(name, value);
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`, positionals[0]);
  return { command: positionals[0] ?? (values.has("config") ? "run" : ""), values };
}

/** The command named in `argv`, for pointing a usage error to its --help. */
function commandIn(argv: readonly string[]): string | undefined {
  return argv.find((a) => Object.hasOwn(COMMANDS, a));
}

/** Refuses options that do not apply to `command`. */
function checkApplicable(command: string, values: Map<string, string | true>): void {
  const spec = COMMANDS[command];
  for (const name of values.keys()) {
    if (GLOBAL.includes(name) || spec.options.includes(name)) continue;
    if ((command === "run" || command === "check") && LISTENER_OPTIONS.has(name)) {
      throw new UsageError(`--${name} does not apply with --config: the listeners and their settings come from the file`, command);
    }
    if (name === "config") {
      throw new UsageError(`--config does not apply to ${command}: run a config file with "spliced run --config FILE"`, command);
    }
    throw new UsageError(`--${name} does not apply to ${command}`, command);
  }
}

function text(values: Map<string, string | true>, name: string): string | undefined {
  const v = values.get(name);
  return typeof v === "string" ? v : undefined;
}

function numberFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? Number(value) : (value as unknown as number);
}

function upstreamList(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter(Boolean);
}

/** The one listener `tcp`, `http` or `static` describe with flags. */
function flagListener(command: string, v: Map<string, string | true>): Record<string, unknown> {
  const listen = text(v, "listen");
  if (listen === undefined) throw new UsageError(`${command} needs --listen HOST:PORT`, command);
  if (command === "static") {
    const root = text(v, "root");
    if (root === undefined) throw new UsageError("static needs --root DIR", command);
    return { name: "static", mode: "http", listen, routes: [{ name: "files", static: { root } }] };
  }
  const to = text(v, "to");
  if (to === undefined) throw new UsageError(`${command} needs --to HOST:PORT[,HOST:PORT...]`, command);
  if (command === "tcp") return { name: "tcp", mode: "tcp", listen, upstreams: upstreamList(to) };
  return { name: "http", mode: "http", listen, routes: [{ name: "all", upstreams: upstreamList(to) }] };
}

function flagConfig(command: string, v: Map<string, string | true>): ConfigInput {
  const listener = flagListener(command, v);
  const set = (target: Record<string, unknown>, key: string, flag: string, convert: (s: string) => unknown = (s) => s) => {
    const value = text(v, flag);
    if (value !== undefined) target[key] = convert(value);
  };
  set(listener, "upstreamTimeout", "upstream-timeout");
  set(listener, "accessLog", "access-log");
  set(listener, "connectTimeout", "connect-timeout");
  set(listener, "idleTimeout", "idle-timeout");
  set(listener, "sendTimeout", "send-timeout");
  set(listener, "maxConnections", "max-connections", numberFlag);
  const cfg: Record<string, unknown> = { listeners: [listener] };
  set(cfg, "workers", "workers", numberFlag);
  set(cfg, "admin", "admin", (listen) => ({ listen }));
  set(cfg, "pipeSize", "pipe-size");
  set(cfg, "gracePeriod", "grace-period");
  return cfg as ConfigInput;
}

/** Config field paths and the flags that set them, for messages about flags. */
const FLAG_OF: [string, string][] = [
  ["listeners[0].routes[0].static.root", "--root"],
  ["listeners[0].routes[0].upstreams", "--to"],
  ["listeners[0].upstreams", "--to"],
  ["listeners[0].listen", "--listen"],
  ["listeners[0].connectTimeout", "--connect-timeout"],
  ["listeners[0].idleTimeout", "--idle-timeout"],
  ["listeners[0].sendTimeout", "--send-timeout"],
  ["listeners[0].maxConnections", "--max-connections"],
  ["listeners[0].upstreamTimeout", "--upstream-timeout"],
  ["listeners[0].accessLog", "--access-log"],
  ["admin.tokenFile", "--admin-token-file"],
  ["admin.listen", "--admin"],
  ["workers", "--workers"],
  ["pipeSize", "--pipe-size"],
  ["gracePeriod", "--grace-period"],
];

/** A field path as the flag that set it (`listeners[0].upstreams[1]` is `--to`). */
function flagOf(path: string): string {
  const bare = path.replace(/\[\d+\]$/, "");
  return FLAG_OF.find(([p]) => p === bare)?.[1] ?? path;
}

/** Issues about flags: paths and the paths named in messages as flags. */
function asFlags(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues.map((i) => {
    let message = i.message;
    for (const [p, flag] of FLAG_OF) message = message.replace(new RegExp(`${p.replace(/[.[\]]/g, "\\$&")}(\\[\\d+\\])?`, "g"), flag);
    return { path: flagOf(i.path), message };
  });
}

/** A ConfigError about a flag-built config restated in terms of flags; anything else as it is. */
function restated(err: unknown, fromFlags: boolean): unknown {
  if (!fromFlags || !(err instanceof ConfigError)) return err;
  const Kind = err instanceof UnresolvedError ? UnresolvedError : ConfigError;
  return new Kind(err.source, asFlags(err.issues));
}

function inFlagTerms<T>(fromFlags: boolean, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw restated(err, fromFlags);
  }
}

/** The config, where it came from (`command line` or the file), and whether flags built it. */
function configFrom(command: string, v: Map<string, string | true>): { config: ValidConfig; source: string; fromFlags: boolean } {
  if (FLAG_COMMANDS.includes(command)) {
    const input = flagConfig(command, v);
    return { config: inFlagTerms(true, () => validateConfig(input, "command line")), source: "command line", fromFlags: true };
  }
  const path = text(v, "config");
  if (path === undefined) throw new UsageError(`${command} needs --config FILE`, command);
  let config = loadConfigFile(path);
  const workers = text(v, "workers");
  if (workers !== undefined) {
    const checked = inFlagTerms(true, () => validateConfig({ workers: numberFlag(workers), listeners: config.listeners } as ConfigInput, "command line"));
    config = { ...config, workers: checked.workers };
  }
  return { config, source: path, fromFlags: false };
}

/** `--admin-token-file` overrides the config's token settings. */
function withTokenFile(cfg: ValidConfig, path: string | undefined, command: string): ValidConfig {
  if (path === undefined) return cfg;
  if (!cfg.admin) {
    throw new UsageError("--admin-token-file needs an admin address (--admin HOST:PORT, or admin.listen in the config)", command);
  }
  return { ...cfg, admin: { ...cfg.admin, tokenFile: path } };
}

/** Refuses a bad admin token setup, and a non-loopback admin without a token, before binding anything. */
async function checkAdmin(admin: NonNullable<ValidConfig["admin"]>, source: string, fromFlags: boolean, tokenFlag: boolean): Promise<void> {
  try {
    await adminAccess(admin, { source, tokenFileField: tokenFlag ? "--admin-token-file" : undefined });
  } catch (err) {
    throw restated(err, fromFlags);
  }
}

function warn(source: string, issues: readonly ConfigIssue[], suffix = ""): void {
  for (const i of issues) console.error(`WARNING: ${source}: ${i.path || "(root)"}: ${i.message}${suffix}`);
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

/**
 * Signals a running spliced ignores. SIGPIPE is not among the handled ones:
 * both runtimes start with it ignored (SIG_IGN), which costs nothing per
 * broken pipe, where a handler would wake the main thread each time.
 */
const IGNORED_SIGNALS = ["SIGUSR2", "SIGALRM", "SIGWINCH", "SIGTTIN", "SIGTTOU"] as const;

/**
 * Signals that must not end spliced: installed before the start so that none
 * kills it while it binds (SIGUSR1 ends Bun by default, SIGHUP both).
 */
function handleSignalsEarly(state: { proxy?: Proxy }): void {
  for (const sig of IGNORED_SIGNALS) process.on(sig, () => {});
  process.on("SIGUSR1", () => {
    if (!state.proxy) return void console.error("spliced: SIGUSR1: still starting, no log to reopen yet");
    state.proxy.reopenLogs();
    console.error("spliced: SIGUSR1: reopening access logs");
  });
  process.on("SIGHUP", () => {
    const proxy = state.proxy;
    if (!proxy) return void console.error("spliced: SIGHUP: still starting, not reloaded");
    if (!proxy.configPath) return void console.error("spliced: SIGHUP: started from flags, there is no config file to reload");
    reloadOnSignal(proxy);
  });
}

function handleStopSignals(proxy: Proxy): void {
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
}

/** SIGHUP: re-read the config file, as nginx and HAProxy do. */
function reloadOnSignal(proxy: Proxy): void {
  proxy.reload().then(
    (cfg) => console.error(`spliced: SIGHUP: reloaded ${proxy.configPath} (${cfg.listeners.length} listeners)`),
    (err) => console.error(`spliced: SIGHUP: reload failed, still running the previous config:\n${err.message}`),
  );
}

/** `--runtime` reaches here only when cli.ts was started directly: then it must name this runtime. */
function checkRuntime(value: string | true | undefined): void {
  if (typeof value !== "string") return;
  if (value !== "bun" && value !== "deno") throw new UsageError(`--runtime: unknown runtime "${value}" (use bun or deno)`);
  const here = currentRuntime();
  if (value !== here) throw new UsageError(`--runtime ${value}: this is ${here}; start spliced with bin/spliced, which picks the runtime`);
}

async function main(argv: string[]): Promise<number> {
  const { command, values } = parse(argv);
  const known = Object.hasOwn(COMMANDS, command);
  if (values.has("help")) return void console.log(known ? commandHelp(command) : generalHelp()), 0;
  if (values.has("version")) return void console.log(VERSION), 0;
  if (!known) {
    const near = command ? suggest(command, Object.keys(COMMANDS)) : undefined;
    throw new UsageError(command ? `unknown command "${command}"${near ? `; did you mean "${near}"?` : ""}` : "no command given", "");
  }
  checkRuntime(values.get("runtime"));
  checkApplicable(command, values);
  const { config: read, source, fromFlags } = configFrom(command, values);
  const tokenFlag = text(values, "admin-token-file");
  const config = withTokenFile(read, tokenFlag, command);
  const terms = (issues: ConfigIssue[]) => fromFlags ? asFlags(issues) : tokenFlag === undefined ? issues
    : issues.map((i) => (i.path === "admin.tokenFile" ? { ...i, path: "--admin-token-file" } : i));
  if (command === "check") {
    const report = await preflightConfig(config);
    if (report.errors.length) throw new ConfigError(source, terms(report.errors));
    if (config.admin) await checkAdmin(config.admin, source, fromFlags, tokenFlag !== undefined);
    warn(source, terms(report.unresolved), " (it may resolve by the time spliced starts)");
    warn(source, terms(report.warnings));
    const count = report.unresolved.length + report.warnings.length;
    console.log(`${source}: ok${count ? ` (${count} warning${count === 1 ? "" : "s"})` : ""}`);
    return 0;
  }
  const warnings = await assertPreflight(config, source).catch((err) => {
    throw err instanceof ConfigError ? new (err instanceof UnresolvedError ? UnresolvedError : ConfigError)(err.source, terms([...err.issues])) : err;
  });
  if (config.admin) await checkAdmin(config.admin, source, fromFlags, tokenFlag !== undefined);
  warn(source, terms(warnings));
  const state: { proxy?: Proxy } = {};
  handleSignalsEarly(state);
  const proxy = await startProxy(config, { configPath: text(values, "config"), pidFile: text(values, "pid-file"), upgradeFrom: text(values, "upgrade-from") });
  state.proxy = proxy;
  announce(proxy, currentRuntime());
  handleStopSignals(proxy);
  await proxy.closed;
  return 0;
}

function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) {
    const help = err.command === undefined || err.command === "" ? "spliced --help" : `spliced ${err.command} --help`;
    console.error(`spliced: ${err.message} (see ${help})`);
    return 2;
  }
  if (err instanceof UnresolvedError) {
    console.error(err.message);
    return 1;
  }
  if (err instanceof ConfigError) {
    console.error(err.message);
    return 2;
  }
  if (err instanceof SysError || err instanceof ServeError || err instanceof FfiUnavailableError || err instanceof ResolveError) {
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

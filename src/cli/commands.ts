/**
 * The commands of the `spliced` command line: each one's usage line, summary,
 * the options it takes, and the help lines that differ for it.
 *
 * @module
 */

/** One command as its --help shows it. */
export interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
  /** The options it takes besides the global ones, in help order. */
  readonly options: readonly string[];
  /** Help lines that differ from the option's usual one for this command. */
  readonly help?: Readonly<Record<string, string>>;
}

const HTTP_IDLE = "close a client connection idle between requests this long (default 60s)";

const CONFIG_HELP = {
  workers: "data-plane threads, instead of the file's workers",
  "admin-token-file": "bearer token file for the admin API, instead of the file's admin.tokenFile",
};

/** Every command by name, in help order. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  tcp: {
    usage: "spliced tcp --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]",
    summary: "TCP reverse proxy: payload moves between the sockets by splice(2)",
    options: [
      "listen", "to", "workers", "admin", "admin-token-file", "connect-timeout", "idle-timeout", "send-timeout",
      "max-connections", "health-check", "access-log", "pipe-size", "grace-period", "log-format", "log-level", "log-file", "pid-file",
      "upgrade-from",
    ],
    help: { "access-log": "JSON line per closed connection: a file path (its directory must exist), - for stdout, or off (default off)" },
  },
  http: {
    usage: "spliced http --listen HOST:PORT --to HOST:PORT[,HOST:PORT...] [options]",
    summary: "HTTP/1.1 reverse proxy: heads parsed, bodies spliced",
    options: [
      "listen", "to", "workers", "admin", "admin-token-file", "connect-timeout", "upstream-timeout", "idle-timeout",
      "send-timeout", "max-connections", "health-check", "access-log", "pipe-size", "grace-period", "log-format", "log-level", "log-file",
      "pid-file", "upgrade-from",
    ],
    help: { "idle-timeout": HTTP_IDLE },
  },
  static: {
    usage: "spliced static --listen HOST:PORT --root DIR [options]",
    summary: "HTTP/1.1 static file server: files sent by sendfile(2)",
    options: [
      "listen", "root", "workers", "admin", "admin-token-file", "idle-timeout", "send-timeout", "max-connections",
      "access-log", "grace-period", "log-format", "log-level", "log-file", "pid-file", "upgrade-from",
    ],
    help: { "idle-timeout": HTTP_IDLE },
  },
  run: {
    usage: "spliced run --config FILE [options]     (also: spliced --config FILE)",
    summary: "run the listeners of a JSON config file; SIGHUP re-reads it",
    options: ["config", "workers", "admin-token-file", "log-format", "log-level", "log-file", "pid-file", "upgrade-from"],
    help: { config: "the JSON config file to run", ...CONFIG_HELP },
  },
  check: {
    usage: "spliced check --config FILE [options]",
    summary: "check a config file and what it names (addresses, paths, host names), then exit",
    options: ["config", "workers", "admin-token-file"],
    help: { config: "the JSON config file to check", ...CONFIG_HELP },
  },
};

/** Commands that describe one listener with flags instead of a config file. */
export const FLAG_COMMANDS: readonly string[] = ["tcp", "http", "static"];

/** Commands that read a config file. */
export const CONFIG_COMMANDS: readonly string[] = ["run", "check"];

/** Options that describe the listener: no use with --config. */
export const LISTENER_OPTIONS: ReadonlySet<string> = new Set([
  "listen", "to", "root", "admin", "connect-timeout", "idle-timeout", "send-timeout", "max-connections",
  "pipe-size", "grace-period", "upstream-timeout", "access-log", "health-check",
]);

/** Whether `name` is a command's name. */
export function isCommand(name: string): boolean {
  return Object.hasOwn(COMMANDS, name);
}

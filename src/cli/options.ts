/**
 * Every option of the `spliced` command line: the name of its value (none
 * for a switch), its one-letter form and its help line. Which command takes
 * which option is in {@link ./commands.ts}.
 *
 * @module
 */

/** One option: its value's name (none for a switch), its short form and its help line. */
export interface OptionSpec {
  readonly value?: string;
  readonly short?: string;
  readonly help: string;
}

/** Every option by long name (without the leading `--`). */
export const OPTIONS: Readonly<Record<string, OptionSpec>> = {
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
  "health-check": { value: "DUR", help: "check each upstream with a TCP connect this often (2 down in a row: no traffic, /ready 503; 2 up: back)" },
  "log-format": { value: "text|json", help: "the operational log (stderr) and the start lines (stdout): text lines (default) or one JSON object per line; beats the file's log.format" },
  "log-level": { value: "LEVEL", help: "error, warn, info (default) or debug: the least severe log line shown; beats the file's log.level" },
  "log-file": { value: "PATH", help: "append the operational log to PATH instead of stderr (start lines stay on stdout too); reopened on SIGUSR1; beats the file's log.file" },
  "pid-file": { value: "PATH", help: "write the pid here once ready" },
  "upgrade-from": { value: "PIDFILE", help: "zero-downtime upgrade: bind beside the spliced whose pid is in PIDFILE, then tell it to drain" },
  runtime: { value: "bun|deno", help: "the JavaScript runtime (read by bin/spliced, anywhere before --; also SPLICED_RUNTIME)" },
  help: { short: "h", help: "show this help" },
  version: { short: "V", help: "print the version" },
};

/** Options every command accepts. */
export const GLOBAL_OPTIONS: readonly string[] = ["runtime", "help", "version"];

/** Whether `name` is an option's long name. */
export function isOption(name: string): boolean {
  return Object.hasOwn(OPTIONS, name);
}

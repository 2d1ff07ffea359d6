/**
 * The texts of `spliced --help` and `spliced COMMAND --help`, wrapped to fit
 * {@link HELP_WIDTH} columns.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import { COMMANDS } from "./commands.ts";
import { GLOBAL_OPTIONS, OPTIONS } from "./options.ts";

/** The column option help starts at. */
const HELP_COLUMN = 32;
/** No help line is wider. */
export const HELP_WIDTH = 100;

const UNITS = "Durations: 500ms, 5s, 10m, 1h. Sizes: 65536, 64k, 1m.";

const SIGNALS_AND_EXIT_CODES = [
  "Signals: SIGTERM, SIGINT drain and exit (a second one exits at once); SIGHUP re-reads the config",
  "file; SIGUSR1 reopens the access log files; SIGUSR2, SIGPIPE, SIGALRM, SIGWINCH, SIGTTIN and SIGTTOU",
  "are ignored.",
  "Exit codes: 0 ok, 1 runtime failure (a busy port, a host name that does not resolve now), 2 bad",
  "usage or config.",
];

/** `-c, --name VALUE`, as the help's left column shows an option. */
function flagText(name: string): string {
  const spec = OPTIONS[name];
  return `  ${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`;
}

/** `words` wrapped at {@link HELP_WIDTH}, each line starting with `first` (padded to the help column). */
function wrap(first: string, words: readonly string[]): string[] {
  const indent = " ".repeat(HELP_COLUMN);
  const lines: string[] = [];
  let line = first.padEnd(HELP_COLUMN);
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = indent;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** `  --name VALUE   help`; a flag too wide for the left column gets a line of its own. */
function optionLine(name: string, help: string = OPTIONS[name].help): string {
  const flag = flagText(name);
  const words = help.split(" ");
  if (flag.length < HELP_COLUMN) return wrap(flag, words).join("\n");
  return [flag, ...wrap("", words)].join("\n");
}

/** `spliced --help`: every command's usage and summary, the global options, signals and exit codes. */
export function generalHelp(): string {
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
    ...GLOBAL_OPTIONS.map((n) => optionLine(n)),
    "",
    ...SIGNALS_AND_EXIT_CODES,
    UNITS,
  ].join("\n");
}

/** `spliced COMMAND --help`: that command's usage and its options only. */
export function commandHelp(command: string): string {
  const spec = COMMANDS[command];
  const lines = [
    `spliced ${command}: ${spec.summary}`,
    "",
    `Usage: ${spec.usage}`,
    "",
    "Options:",
    ...spec.options.map((n) => optionLine(n, spec.help?.[n])),
    ...GLOBAL_OPTIONS.map((n) => optionLine(n)),
  ];
  if (spec.options.some((n) => ["DUR", "SIZE"].includes(OPTIONS[n].value ?? ""))) lines.push("", UNITS);
  return lines.join("\n");
}

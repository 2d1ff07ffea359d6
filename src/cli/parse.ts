/**
 * Parses the command line with `node:util` `parseArgs`, non-strict, and
 * checks its tokens here: parseArgs' own messages differ by runtime, these
 * are the same bytes on Bun and Deno, and say "did you mean" for a typo.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { suggest } from "../config/suggest.ts";
import { UsageError } from "../errors.ts";
import { isCommand } from "./commands.ts";
import { isOption, OPTIONS } from "./options.ts";

/** Given options by long name: a value, or `true` for a switch. */
export type Values = ReadonlyMap<string, string | true>;

/** The command line, parsed. */
export interface Parsed {
  /** The command named, `run` for a bare `--config FILE`, "" for none. */
  readonly command: string;
  /** Given options by long name (`--to` given twice is joined with commas). */
  readonly values: Values;
}

/** An option as parseArgs' tokens show it. */
interface OptionToken {
  readonly name: string;
  readonly rawName: string;
  readonly value?: string;
  readonly inlineValue?: boolean;
}

/** {@link OPTIONS} as parseArgs takes them. */
const PARSE_OPTIONS = Object.fromEntries(
  Object.entries(OPTIONS).map(([name, spec]) => [
    name,
    spec.short ? { type: spec.value ? "string" : "boolean", short: spec.short } : { type: spec.value ? "string" : "boolean" },
  ]),
) as Record<string, { type: "string" | "boolean"; short?: string }>;

/** Parses `argv` (the arguments after the script); throws UsageError for the first mistake in it. */
export function parseCommandLine(argv: readonly string[]): Parsed {
  const { tokens } = parseArgs({ args: [...argv], options: PARSE_OPTIONS, allowPositionals: true, strict: false, tokens: true });
  const command = commandIn(argv);
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    else if (token.kind === "option") addOption(values, token, command);
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`, positionals[0]);
  return { command: positionals[0] ?? (values.has("config") ? "run" : ""), values };
}

/** The value of option `name` when it takes one and was given. */
export function stringValue(values: Values, name: string): string | undefined {
  const value = values.get(name);
  return typeof value === "string" ? value : undefined;
}

/** The command named in `argv`, for pointing a usage error to its --help. */
function commandIn(argv: readonly string[]): string | undefined {
  return argv.find(isCommand);
}

/** Adds one option to `values`: refused when unknown, without its value, or given twice (but --to). */
function addOption(values: Map<string, string | true>, token: OptionToken, command: string | undefined): void {
  const name = knownName(token, command);
  const value = optionValue(name, token, command);
  const before = values.get(name);
  if (before === undefined) return void values.set(name, value);
  if (name !== "to") throw new UsageError(`--${name} given twice`, command);
  values.set(name, `${before},${value}`);
}

/**
 * The long name of a known option. parseArgs names a known short option by
 * its long name and keeps an unknown one's letter; no long name is one letter.
 */
function knownName(token: OptionToken, command: string | undefined): string {
  if (isOption(token.name)) return token.name;
  const near = token.rawName.startsWith("--") ? suggest(token.name, Object.keys(OPTIONS)) : undefined;
  throw new UsageError(`unknown option "${token.rawName}"${near ? `; did you mean --${near}?` : ""}`, command);
}

/**
 * The option's value, `true` for a switch. parseArgs takes the next argument
 * as the value whatever it is; one starting with `--` means the value is missing.
 */
function optionValue(name: string, token: OptionToken, command: string | undefined): string | true {
  const spec = OPTIONS[name];
  if (!spec.value) {
    if (token.value !== undefined) throw new UsageError(`--${name} takes no value`, command);
    return true;
  }
  if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
    throw new UsageError(`--${name} needs a value (${spec.value})`, command);
  }
  return token.value;
}

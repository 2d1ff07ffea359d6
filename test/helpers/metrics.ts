/**
 * A strict reader of the Prometheus text format (0.0.4) for tests, and
 * `promtool check metrics` when promtool is installed.
 *
 * @module
 */
import { spawnSync } from "node:child_process";

/** One sample line. */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A parsed exposition. */
export interface Metrics {
  readonly samples: Sample[];
  /** Family name → TYPE. */
  readonly types: Map<string, string>;
  /** Family name → HELP. */
  readonly help: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new SyntaxError(`bad value "${text}"`);
  return n;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new SyntaxError(`bad labels "${text}"`);
    if (m[1] in labels) throw new SyntaxError(`duplicate label ${m[1]}`);
    labels[m[1]] = m[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
  }
  return labels;
}

/** The family a sample belongs to (histogram suffixes stripped when the base is a histogram). */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === "histogram") return base;
  }
  return name;
}

/**
 * Parses an exposition; throws SyntaxError on a malformed line, a sample
 * before its family's TYPE, or a family whose samples are not contiguous.
 */
export function parseMetrics(text: string): Metrics {
  if (!text.endsWith("\n")) throw new SyntaxError("exposition must end with a newline");
  const out: Metrics = { samples: [], types: new Map(), help: new Map() };
  const finished = new Set<string>();
  let current = "";
  for (const [i, line] of text.slice(0, -1).split("\n").entries()) {
    const where = `line ${i + 1}: ${line}`;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (!NAME.test(name)) throw new SyntaxError(`${where}: bad name`);
      if (kind === "TYPE") {
        if (out.types.has(name)) throw new SyntaxError(`${where}: second TYPE`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new SyntaxError(`${where}: bad type`);
        out.types.set(name, rest);
      } else out.help.set(name, rest);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new SyntaxError(`${where}: not a sample`);
    const family = familyOf(m[1], out.types);
    if (!out.types.has(family)) throw new SyntaxError(`${where}: sample before TYPE`);
    if (family !== current) {
      if (finished.has(family)) throw new SyntaxError(`${where}: family ${family} is not contiguous`);
      if (current) finished.add(current);
      current = family;
    }
    out.samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2]) : {}, value: parseValue(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` with exactly `labels`, or undefined. */
export function sample(m: Metrics, name: string, labels: Record<string, string>): number | undefined {
  const keys = Object.keys(labels);
  const found = m.samples.filter((s) =>
    s.name === name && Object.keys(s.labels).length === keys.length && keys.every((k) => s.labels[k] === labels[k])
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Runs `promtool check metrics` on `text`; undefined when promtool is not installed. */
export function promtoolCheck(text: string): { code: number; output: string } | undefined {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return undefined;
  if (r.error) throw r.error;
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/**
 * Config fuzz (fast-check, bounded runs): whatever the input (random JSON
 * values, random mutations of a valid config, random text), the loader
 * returns a config or throws ConfigError, and its messages are spliced's own:
 * never zod's "Invalid input", never a stack trace. The JSON locator finds an
 * error exactly when JSON.parse fails.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import process from "node:process";
import { parseConfigText, validateConfig } from "./config.ts";
import { locateJsonError } from "./config/json.ts";
import { ConfigError } from "./errors.ts";

/** Runs per property; SPLICED_FUZZ_RUNS raises it for a longer hunt. */
const RUNS = Number(process.env.SPLICED_FUZZ_RUNS ?? 400);

const VALID = {
  workers: 2,
  pipeSize: "1m",
  gracePeriod: "30s",
  admin: { listen: "127.0.0.1:9090", idleTimeout: "30s", maxEventStreams: 8 },
  listeners: [
    { name: "db", listen: "127.0.0.1:6432", upstreams: ["10.0.0.5:5432", "db.internal:5432"], connectTimeout: "5s", idleTimeout: "1h", maxConnections: 10 },
    {
      name: "web", mode: "http", listen: "0.0.0.0:8080", headTimeout: "10s", upstreamTimeout: 60000, maxHeadBytes: "16k", accessLog: "-",
      routes: [
        { name: "api", host: "api.example.com", path: "/v1/", stripPrefix: true, upstreams: ["10.0.0.7:3000"], maxBodySize: "10m",
          requestHeaders: { set: { "X-Env": "prod" }, remove: ["X-Debug"] }, responseHeaders: { set: { "X-Frame-Options": "DENY" } } },
        { name: "files", path: "/", static: { root: "/srv/www", index: "index.html", dotfiles: "deny" } },
      ],
    },
  ],
};

/** The loader's outcome must be a config or a ConfigError with clean messages. */
function assertClean(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw new Error(`threw ${(err as Error)?.name}: ${(err as Error)?.message}\n${(err as Error)?.stack}`);
    assert.doesNotMatch(err.message, /Invalid input|Invalid option|Too (small|big)|Unrecognized key|\u0000|\n\s+at /, err.message);
    assert.ok(err.issues.length > 0, "at least one issue");
    for (const line of err.message.split("\n")) assert.match(line, /^[^:]+: [^\n]+: \S/, line);
  }
}

const json = fc.jsonValue({ maxDepth: 5 });

test("config fuzz: random JSON values give a config or a ConfigError", () => {
  fc.assert(fc.property(json, (value) => assertClean(() => validateConfig(value, "fuzz.json"))), { numRuns: RUNS });
});

test("config fuzz: random JSON values in the config's shape give a config or a ConfigError", () => {
  const listener = fc.record({
    name: fc.oneof(fc.string(), json), mode: fc.oneof(fc.constantFrom("tcp", "http", "udp"), json),
    listen: fc.oneof(fc.constantFrom("127.0.0.1:0", "localhost:1", "300.1.1.1:1", ":80", "[::1]:1"), fc.string()),
    upstreams: fc.oneof(fc.array(fc.oneof(fc.constantFrom("a:1", "127.0.0.1:2", "x"), fc.string())), json),
    routes: fc.oneof(fc.array(fc.record({ upstreams: fc.array(fc.string()), static: json, requestHeaders: json }, { requiredKeys: [] })), json),
    connectTimeout: json, accessLog: json,
  }, { requiredKeys: [] });
  const config = fc.record({ workers: json, admin: json, listeners: fc.oneof(fc.array(listener, { maxLength: 3 }), json) }, { requiredKeys: [] });
  fc.assert(fc.property(config, (value) => assertClean(() => validateConfig(value, "fuzz.json"))), { numRuns: RUNS });
});

type Path = (string | number)[];

/** Every path to a value inside `v`. */
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

const ALL_PATHS = paths(VALID).filter((p) => p.length > 0);

type Mutation = { kind: "set"; at: number; value: unknown } | { kind: "delete"; at: number } | { kind: "rename"; at: number; name: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(ALL_PATHS.length - 1), value: json }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(ALL_PATHS.length - 1) }),
  fc.record({ kind: fc.constant("rename" as const), at: fc.nat(ALL_PATHS.length - 1), name: fc.string({ maxLength: 12 }) }),
);

function mutate(base: unknown, ms: Mutation[]): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  for (const m of ms) {
    const path = ALL_PATHS[m.at];
    let parent: any = copy;
    for (const k of path.slice(0, -1)) {
      if (parent === null || typeof parent !== "object") break;
      parent = parent[k];
    }
    if (parent === null || typeof parent !== "object") continue;
    const key = path[path.length - 1];
    if (m.kind === "set") parent[key] = m.value;
    else if (m.kind === "delete") Array.isArray(parent) ? parent.splice(Number(key), 1) : delete parent[key];
    else if (!Array.isArray(parent) && key in parent) {
      const value = parent[key];
      delete parent[key];
      parent[m.name] = value;
    }
  }
  return copy;
}

test("config fuzz: the valid example is valid, and random mutations of it give a config or a ConfigError", () => {
  validateConfig(VALID, "valid.json");
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
    assertClean(() => validateConfig(mutate(VALID, ms), "fuzz.json"));
  }), { numRuns: RUNS });
});

test("config fuzz: random text and edits of valid JSON text give a config or a ConfigError; the locator agrees with JSON.parse", () => {
  const validText = JSON.stringify(VALID, null, 2);
  const edit = fc.record({ at: fc.nat(validText.length), remove: fc.nat(3), insert: fc.string({ maxLength: 3, unit: fc.constantFrom(..."{}[],:\"\\ \n0-1.eE+tfnul/'x\u00e9\u2192\t") }) });
  const texts = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
      let t = validText;
      for (const e of edits) t = t.slice(0, Math.min(e.at, t.length)) + e.insert + t.slice(Math.min(e.at, t.length) + e.remove);
      return t;
    }),
    json.map((v) => JSON.stringify(v)),
  );
  fc.assert(fc.property(texts, (text) => {
    assertClean(() => parseConfigText(text, "fuzz.json"));
    let parses = true;
    try {
      JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch {
      parses = false;
    }
    const fault = locateJsonError(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    assert.equal(fault === undefined, parses, `${JSON.stringify(text)}: locator ${JSON.stringify(fault)}, JSON.parse ${parses ? "ok" : "fails"}`);
    if (fault) assert.ok(fault.line >= 1 && fault.column >= 1 && fault.offset <= text.length);
  }), { numRuns: RUNS });
});

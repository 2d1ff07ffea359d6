#!/usr/bin/env node
/**
 * Runs the test suite on Deno and then on Bun, streaming both runners' output,
 * and ends with exactly one line `N passed, N failed` (sums over the runtimes).
 *
 *   node scripts/test.mjs                       # both runtimes, every **\/*.test.ts under ffi/, src/, test/
 *   node scripts/test.mjs --runtime deno        # one runtime (deno | bun)
 *   node scripts/test.mjs sockaddr test/e2e     # filters: an existing file or folder, or a substring of a path
 *
 * Exit code 0 only when every runtime printed a summary with 0 failed and exited 0.
 * A runner that crashes, times out or prints no summary counts as 1 failed.
 *
 * Environment: SPLICED_TEST_TIMEOUT_S (whole-run limit per runtime, default 480 s),
 * SPLICED_TEST_PER_TEST_MS (Bun's per-test timeout, default 120000 ms).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TEST_DIRS = ["ffi", "src", "test"];
const TEST_SUFFIX = ".test.ts";
const RUNTIMES = ["deno", "bun"];
const RUN_TIMEOUT_MS = Number(process.env.SPLICED_TEST_TIMEOUT_S ?? 480) * 1000;
const PER_TEST_MS = Number(process.env.SPLICED_TEST_PER_TEST_MS ?? 120000);
const KILL_GRACE_MS = 5000;
/** How much of each output stream is kept for parsing the summary. */
const TAIL_BYTES = 256 * 1024;

function usage(code) {
  const text = [
    "usage: node scripts/test.mjs [--runtime deno|bun] [FILTER...]",
    "  FILTER: a test file or folder (relative to the current directory), or a",
    `  substring of a test file's path under ${TEST_DIRS.join("/, ")}/`,
  ].join("\n");
  (code === 0 ? console.log : console.error)(text);
  process.exit(code);
}

function parseArgs(argv) {
  const runtimes = [];
  const filters = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") usage(0);
    else if (arg === "--") continue;
    else if (arg === "--runtime" || arg.startsWith("--runtime=")) {
      const value = arg === "--runtime" ? argv[++i] : arg.slice("--runtime=".length);
      if (value === "all" || value === "both") runtimes.push(...RUNTIMES);
      else if (RUNTIMES.includes(value)) runtimes.push(value);
      else {
        console.error(`unknown runtime: ${value ?? "(missing)"}`);
        usage(2);
      }
    } else if (arg.startsWith("-")) {
      console.error(`unknown option: ${arg}`);
      usage(2);
    } else filters.push(arg);
  }
  return { runtimes: runtimes.length ? [...new Set(runtimes)] : RUNTIMES, filters };
}

/** Every `*.test.ts` below `dir`, skipping node_modules and dot folders. */
function walk(dir, out = []) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && e.name.endsWith(TEST_SUFFIX)) out.push(p);
  }
  return out;
}

/** The test files to run, as absolute paths, sorted. */
function selectFiles(filters) {
  const all = TEST_DIRS.flatMap((d) => walk(join(ROOT, d)));
  if (filters.length === 0) return all.sort();
  const chosen = new Set();
  for (const f of filters) {
    const asPath = resolve(process.cwd(), f);
    let matched = [];
    if (existsSync(asPath)) {
      matched = statSync(asPath).isDirectory() ? walk(asPath) : [asPath];
    } else {
      matched = all.filter((p) => relative(ROOT, p).split(sep).join("/").includes(f));
    }
    if (matched.length === 0) console.error(`test.mjs: no test file matches "${f}"`);
    for (const p of matched) chosen.add(p);
  }
  return [...chosen].sort();
}

/** A path as the runners should get it: `./rel` inside the repo (Bun needs the `./`), else absolute. */
function runnerPath(abs) {
  const rel = relative(ROOT, abs);
  return rel.startsWith("..") ? abs : `./${rel.split(sep).join("/")}`;
}

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
const lines = (text) => text.replace(ANSI, "").split(/\r?\n/);

/**
 * Deno's closing line: `ok | 12 passed | 0 failed (1s)` or
 * `FAILED | 3 passed (2 steps) | 1 failed | 1 ignored | 2 filtered out (2s)`.
 */
function parseDeno(stdout, stderr) {
  for (const text of [stdout, stderr]) {
    const ls = lines(text);
    for (let i = ls.length - 1; i >= 0; i--) {
      const line = ls[i].trim();
      if (!/^(ok|FAILED) \| \d+ passed\b.*\| \d+ failed\b/.test(line)) continue;
      const n = (word) => Number(line.match(new RegExp(`(\\d+) ${word}\\b`))?.[1] ?? 0);
      return { passed: n("passed"), failed: n("failed"), skipped: n("ignored") };
    }
  }
  return undefined;
}

/**
 * Bun's closing block (on stderr):
 *   ` 6 pass` / ` 1 skip` / ` 1 todo` / ` 0 fail` / ` 1 error` / `Ran 8 tests across 2 files. [1.2s]`
 * Read backwards from the last `Ran N tests` line, so that a test printing
 * ` 99 pass` itself cannot fool the count.
 */
function parseBun(stdout, stderr) {
  for (const text of [stderr, stdout]) {
    const ls = lines(text);
    let end = -1;
    for (let i = ls.length - 1; i >= 0; i--) {
      if (/^Ran \d+ tests? across \d+ files?\b/.test(ls[i].trim())) {
        end = i;
        break;
      }
    }
    if (end < 0) continue;
    const counts = {};
    for (let i = end - 1; i >= 0 && i >= end - 12; i--) {
      const m = ls[i].match(/^\s*(\d+) (pass|fail|skip|todo|error|errors|snapshots?|expect\(\) calls)\b/);
      if (!m) {
        if (ls[i].trim() === "") break;
        continue;
      }
      counts[m[2]] ??= Number(m[1]);
    }
    if (counts.pass === undefined || counts.fail === undefined) continue;
    return {
      passed: counts.pass,
      failed: counts.fail,
      skipped: (counts.skip ?? 0) + (counts.todo ?? 0),
      errors: (counts.error ?? 0) + (counts.errors ?? 0),
    };
  }
  return undefined;
}

function command(runtime, files) {
  const bin = join(ROOT, "node_modules", ".bin", runtime);
  if (runtime === "deno") {
    return { bin, args: ["test", "--allow-all", "--no-check", ...files], parse: parseDeno };
  }
  return { bin, args: ["test", "--timeout", String(PER_TEST_MS), ...files], parse: parseBun };
}

let current; // the running child, for our own signal handlers

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  }
}

/** Runs one runtime's suite, streaming its output; resolves to its counts. */
function runOne(runtime, files) {
  const { bin, args, parse } = command(runtime, files);
  const started = Date.now();
  console.log(`\n=== ${runtime} test: ${files.length} file(s) ===`);
  console.log(`$ ${relative(ROOT, bin)} ${args.join(" ")}`);
  if (!existsSync(bin)) {
    console.log(`test.mjs: ${bin} not found; run \`npm ci\` (or \`npm install\`) first`);
    return Promise.resolve({ runtime, passed: 0, failed: 1, skipped: 0, notes: ["runtime not installed"] });
  }
  const env = {
    ...process.env,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    RUST_BACKTRACE: "0",
    DO_NOT_TRACK: "1",
  };
  delete env.FORCE_COLOR;
  return new Promise((done) => {
    const child = spawn(bin, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    current = child;
    const tails = { stdout: "", stderr: "" };
    const keep = (name, sink) => (chunk) => {
      sink.write(chunk);
      tails[name] = (tails[name] + chunk.toString("utf8")).slice(-TAIL_BYTES);
    };
    // Both streams go to our stdout, in the order they come (Bun reports on
    // stderr): `npm test > log` keeps everything, with our summary line last.
    child.stdout.on("data", keep("stdout", process.stdout));
    child.stderr.on("data", keep("stderr", process.stdout));
    let timedOut = false;
    let spawnError;
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(`\ntest.mjs: ${runtime} still running after ${RUN_TIMEOUT_MS / 1000} s: stopping it`);
      killGroup(child, "SIGTERM");
      setTimeout(() => killGroup(child, "SIGKILL"), KILL_GRACE_MS).unref();
    }, RUN_TIMEOUT_MS);
    child.on("error", (err) => {
      spawnError = err;
      finish(null, null);
    });
    let exited;
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      // Whatever the runner left behind in its process group (a server a test
      // started, say) goes with it; it could otherwise hold the pipes open.
      killGroup(child, "SIGKILL");
      // Give the pipes a moment to drain, then stop waiting for them.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, signal);
      }, KILL_GRACE_MS).unref();
    });
    child.on("close", () => exited && finish(exited.code, exited.signal));
    let finished = false;
    const finish = (code, signal) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      current = undefined;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const notes = [];
      const summary = parse(tails.stdout, tails.stderr);
      let { passed = 0, failed = 0, skipped = 0 } = summary ?? {};
      if (summary?.errors) notes.push(`${summary.errors} error(s) outside tests`);
      if (spawnError) notes.push(`could not start: ${spawnError.message}`);
      if (timedOut) notes.push(`timed out after ${RUN_TIMEOUT_MS / 1000} s`);
      if (!summary) {
        notes.push("printed no summary");
        failed = Math.max(failed, 1);
      } else if (timedOut && failed === 0) failed = 1;
      const exit = signal ? `signal ${signal}` : `exit ${code}`;
      if (summary && !timedOut && code !== 0 && failed === 0) {
        notes.push(`runner failed (${exit}) though its summary counts no failure`);
        failed = 1;
      }
      done({ runtime, passed, failed, skipped, notes, exit, seconds });
    };
  });
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (current) killGroup(current, "SIGKILL");
    process.exit(130);
  });
}

const { runtimes, filters } = parseArgs(process.argv.slice(2));
const files = selectFiles(filters).map(runnerPath);
if (files.length === 0) {
  console.error(
    filters.length
      ? `test.mjs: no test files match ${filters.join(" ")}`
      : `test.mjs: no *${TEST_SUFFIX} files under ${TEST_DIRS.join("/, ")}/`,
  );
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const results = [];
for (const runtime of runtimes) results.push(await runOne(runtime, files));

console.log("\n=== summary ===");
for (const r of results) {
  const extra = [r.exit, r.seconds && `${r.seconds} s`, ...r.notes].filter(Boolean).join("; ");
  // Deliberately not in the `N passed, N failed` form: only the last line is.
  console.log(`[${r.runtime}] passed ${r.passed}, failed ${r.failed}, skipped ${r.skipped} (${extra})`);
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

/**
 * The operational log (issue 11) through the real command: `--log-format
 * json` makes every line a JSON record (start lines on stdout, the rest on
 * stderr); SIGHUP reloads log ok and failed; a shutdown drain counts the
 * connections that finished and those closed at the grace deadline; a reload
 * retires the old generation with its own drained line; a reload applies a
 * changed log format and level; `--log-level error` keeps errors only;
 * bad values get the usual one-line error.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { startProxy } from "../src/mod.ts";
import { processLog } from "../src/log/logger.ts";
import { connect, deadPort, echoServer } from "./helpers/peers.ts";
import { BIN, eventually, runCli, startLines, startSpliced, testRuntime } from "./helpers/spliced.ts";
import { VERSION } from "../src/version.ts";

const dir = mkdtempSync(join(tmpdir(), "spliced-logging-"));
const LEVELS = ["error", "warn", "info", "debug"];

/** A running `bin/spliced`, its stdout and stderr kept apart. */
interface Run {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

/** Starts `spliced ARGS` and waits until its start lines named the admin port. */
async function start(args: string[]): Promise<Run & { port: number; adminPort: number }> {
  const child = spawn(BIN, ["--runtime", testRuntime(), ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  let gone = false;
  exited.then(() => (gone = true));
  assert.ok(await eventually(() => gone || startLines(stdout).adminPort !== undefined, 30_000), `not started:\n${stdout}${stderr}`);
  assert.ok(!gone, `exited during start:\n${stdout}${stderr}`);
  const { ports, adminPort } = startLines(stdout);
  return { pid: child.pid!, port: Object.values(ports)[0], adminPort: adminPort!, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Every complete line of `text`, each parsed as JSON (a line that is not JSON fails the test). */
function records(text: string): Record<string, any>[] {
  return text.split("\n").filter((l) => l !== "").map((line) => {
    let r: Record<string, any>;
    try {
      r = JSON.parse(line);
    } catch {
      assert.fail(`not a JSON line: ${line}`);
    }
    assert.ok(!Number.isNaN(Date.parse(r.time)) && r.time === new Date(r.time).toISOString(), `ISO time: ${line}`);
    assert.ok(LEVELS.includes(r.level), `level: ${line}`);
    assert.equal(typeof r.event, "string", line);
    assert.equal(typeof r.msg, "string", line);
    return r;
  });
}

function eventsOf(text: string, event: string): Record<string, any>[] {
  return records(text).filter((r) => r.event === event);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  process.kill(pid, sig);
}

async function connectionsActive(adminPort: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats`, { headers: { connection: "close" } });
  return (await res.json()).totals.connections_active;
}

function configFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

test("logging: --log-format json: start lines, SIGHUP reload ok and failed, drain counts finished and cut connections", { timeout: 90_000 }, async () => {
  const echo = await echoServer();
  const listener = (listen: string) => ({ name: "svc", listen, upstreams: [`127.0.0.1:${echo.port}`] });
  const config = (listen: string, extra: object = {}) => ({ workers: 2, gracePeriod: "3s", admin: { listen: "127.0.0.1:0" }, ...extra, listeners: [listener(listen)] });
  const path = configFile("json.json", config("127.0.0.1:0"));
  const proxy = await start(["--config", path, "--log-format", "json"]);
  try {
    const begun = records(proxy.stdout());
    assert.deepEqual(begun.map((r) => r.event), ["start", "listener", "admin"], "stdout: the start lines, as JSON");
    assert.deepEqual([begun[0].version, begun[0].runtime, begun[0].workers, begun[0].pid], [VERSION, testRuntime(), 2, proxy.pid]);
    assert.deepEqual([begun[1].name, begun[1].mode, begun[1].address, begun[1].port], ["svc", "tcp", `127.0.0.1:${proxy.port}`, proxy.port]);
    assert.equal(begun[2].port, proxy.adminPort);

    // A connection open across the reload: generation 1 retires once it ends, and says so.
    const kept = await connect(proxy.port);
    kept.socket.write("abc");
    assert.ok(await eventually(() => kept.received.bytes === 3));
    // The file now asks for text: --log-format json still wins.
    writeFileSync(path, JSON.stringify(config(`127.0.0.1:${proxy.port}`, { log: { format: "text" } })));
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => eventsOf(proxy.stderr(), "reload").length === 1), proxy.stderr());
    const reload = eventsOf(proxy.stderr(), "reload")[0];
    assert.deepEqual([reload.level, reload.signal, reload.path, reload.generation, reload.listeners], ["info", "SIGHUP", path, 2, ["svc"]]);
    const retiring = eventsOf(proxy.stderr(), "drain")[0];
    assert.deepEqual([retiring.level, retiring.generation, retiring.open, retiring.next], ["info", 1, 1, 2]);
    assert.equal(retiring.msg, "draining generation 1 (replaced by 2): 1 connection open, left to finish");
    kept.socket.end();
    await kept.closed;
    assert.ok(await eventually(() => eventsOf(proxy.stderr(), "drained").length === 1), proxy.stderr());
    const retired = eventsOf(proxy.stderr(), "drained")[0];
    assert.deepEqual([retired.generation, retired.open, retired.finished, retired.closed_at_deadline], [1, 1, 1, 0]);
    assert.match(retired.msg, /^drained \(generation 1, replaced\): 1 connection finished, 0 closed at the grace deadline$/);

    writeFileSync(path, JSON.stringify({ ...config(`127.0.0.1:${proxy.port}`), listeners: [{ ...listener(`127.0.0.1:${proxy.port}`), idleTimeot: "1m" }] }));
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => eventsOf(proxy.stderr(), "reload_failed").length === 1), proxy.stderr());
    const failed = eventsOf(proxy.stderr(), "reload_failed")[0];
    assert.equal(failed.level, "error");
    assert.equal(failed.error, `${path}: listeners[0]: unknown key "idleTimeot"; did you mean "idleTimeout"?`);
    assert.match(failed.msg, /^SIGHUP: reload failed, still running the previous config: /);

    // Two connections through the shutdown: one ends during the grace period, one is held past it.
    const finishes = await connect(proxy.port);
    const held = await connect(proxy.port);
    for (const c of [finishes, held]) c.socket.write("x");
    assert.ok(await eventually(() => finishes.received.bytes === 1 && held.received.bytes === 1));
    assert.ok(await eventually(async () => (await connectionsActive(proxy.adminPort)) === 2));
    signal(proxy.pid, "SIGTERM");
    assert.ok(await eventually(() => eventsOf(proxy.stderr(), "drain").length === 2), proxy.stderr());
    const drain = eventsOf(proxy.stderr(), "drain")[1];
    assert.equal(drain.generation, undefined);
    assert.deepEqual([drain.open, drain.grace_period_ms], [2, 3000]);
    finishes.socket.end();
    await finishes.closed;
    assert.equal(await proxy.exited, 0, proxy.stderr());
    await held.ended; // spliced closed it at the grace deadline (this side never ended it)
    held.socket.destroy();

    const drained = eventsOf(proxy.stderr(), "drained");
    assert.equal(drained.length, 2, proxy.stderr());
    assert.deepEqual([drained[1].generation, drained[1].open, drained[1].finished, drained[1].closed_at_deadline], [undefined, 2, 1, 1]);
    assert.equal(drained[1].msg, "drained: 1 connection finished, 1 closed at the grace deadline");
    assert.deepEqual(records(proxy.stderr()).map((r) => r.event), [
      "drain", "reload", "drained", "reload_failed", "signal", "drain", "drained", "shutdown",
    ]);
    assert.equal(records(proxy.stdout()).length, 3, "nothing else on stdout");
  } finally {
    try {
      signal(proxy.pid, "SIGKILL");
    } catch {
      // exited
    }
    await echo.close();
  }
});

test("logging: a reload applies the file's changed log format and level", { timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const config = (listen: string, log: object) => ({
    workers: 1, gracePeriod: "1s", admin: { listen: "127.0.0.1:0" }, log, listeners: [{ name: "svc", listen, upstreams: [`127.0.0.1:${echo.port}`] }],
  });
  const path = configFile("follow.json", config("127.0.0.1:0", { format: "json", level: "debug" }));
  const proxy = await start(["--config", path]);
  try {
    assert.equal(records(proxy.stdout()).length, 3, "the file's json");
    writeFileSync(path, JSON.stringify(config(`127.0.0.1:${proxy.port}`, { format: "text" })));
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => /^spliced: drained \(generation 1, replaced\)/m.test(proxy.stderr())), proxy.stderr());
    const [retiring, first, ...rest] = proxy.stderr().trim().split("\n");
    assert.deepEqual([records(retiring)[0].event, records(retiring)[0].open], ["drain", 0]);
    const debug = records(first)[0];
    assert.deepEqual([debug.level, debug.event, debug.generation, debug.retiring, debug.upstreams], ["debug", "generation", 2, 1, [`svc/127.0.0.1:${echo.port}`]],
      "a debug line while the level was still debug, before the new file applied");
    assert.deepEqual(rest, [
      `spliced: SIGHUP: reloaded ${path} (1 listeners)`,
      "spliced: drained (generation 1, replaced): 0 connections finished, 0 closed at the grace deadline",
    ], "text from the reload on, and at info no debug line");

    writeFileSync(path, JSON.stringify(config(`127.0.0.1:${proxy.port}`, { level: "error" })));
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(async () => (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/stats`)).json()).generation === 3));
    writeFileSync(path, "{ not json");
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => /reload failed/.test(proxy.stderr())), proxy.stderr());
    signal(proxy.pid, "SIGTERM");
    assert.equal(await proxy.exited, 0);
    const lines = proxy.stderr().trim().split("\n");
    assert.equal(lines.length, 6, `at level error only the failed reload is added:\n${proxy.stderr()}`);
    assert.equal(lines[4], "spliced: draining generation 2 (replaced by 3): 0 connections open, left to finish", "written before the new level applied");
    assert.match(lines[5], new RegExp(`^spliced: SIGHUP: reload failed, still running the previous config: ${path}: `));
  } finally {
    try {
      signal(proxy.pid, "SIGKILL");
    } catch {
      // exited
    }
    await echo.close();
  }
});

test("logging: --log-level error beats the file's debug: no info or warning lines; the text start lines stay on stdout", { timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const config = (listen: string) => ({
    workers: 1, gracePeriod: "1s", admin: { listen: "127.0.0.1:0" }, log: { level: "debug" }, listeners: [{ name: "svc", listen, upstreams: [`127.0.0.1:${echo.port}`] }],
  });
  const path = configFile("quiet.json", config("127.0.0.1:0"));
  const proxy = await start(["--config", path, "--log-level", "error"]);
  try {
    const out = proxy.stdout().trim().split("\n");
    assert.equal(out.length, 3);
    assert.match(out[0], new RegExp(`^spliced ${VERSION.replaceAll(".", "\\.")} on ${testRuntime()}, 1 worker$`));
    assert.match(out[1], new RegExp(`^listener svc tcp 127\\.0\\.0\\.1:${proxy.port} -> 127\\.0\\.0\\.1:${echo.port}$`));
    assert.match(out[2], new RegExp(`^admin http://127\\.0\\.0\\.1:${proxy.adminPort}/ `));
    writeFileSync(path, JSON.stringify(config(`127.0.0.1:${proxy.port}`)));
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(async () => (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/stats`)).json()).generation === 2));
    writeFileSync(path, JSON.stringify({ ...config(`127.0.0.1:${proxy.port}`), log: { level: "loud" } }));
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => /reload failed/.test(proxy.stderr())), proxy.stderr());
    signal(proxy.pid, "SIGTERM");
    assert.equal(await proxy.exited, 0);
    assert.equal(proxy.stderr(), `spliced: SIGHUP: reload failed, still running the previous config: ${path}: log.level: expected "error" or "warn" or "info" or "debug", got "loud"\n`);
  } finally {
    try {
      signal(proxy.pid, "SIGKILL");
    } catch {
      // exited
    }
    await echo.close();
  }
});

test("logging: tcp with --log-format json writes the start lines as JSON, and the test helper reads their ports", { timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${echo.port}`, "--workers", "1", "--log-format", "json", "--grace-period", "1s"]);
  try {
    const c = await connect(proxy.port);
    c.socket.end("hello");
    await c.closed;
    assert.equal(c.received.text(), "hello");
    assert.ok((await fetch(`http://127.0.0.1:${proxy.adminPort}/healthz`)).ok);
    signal(proxy.pid, "SIGHUP");
    assert.ok(await eventually(() => /"event":"signal"/.test(proxy.output())));
    signal(proxy.pid, "SIGUSR1");
    assert.ok(await eventually(() => /"event":"reopen"/.test(proxy.output())));
    assert.equal(await proxy.stop(), 0);
    const events = records(proxy.output()).map((r) => `${r.level} ${r.event}`);
    assert.deepEqual(events, [
      "info start", "info listener", "info admin", "warn signal", "info reopen", "info signal", "info drain", "info drained", "info shutdown",
    ]);
    assert.match(records(proxy.output())[3].msg, /^SIGHUP: started from flags, there is no config file to reload$/);
  } finally {
    await proxy.stop();
    await echo.close();
  }
});

test("logging: --log-file takes every line (start lines stay on stdout too); SIGUSR1 reopens it after logrotate's rename; a bad path is one line", { timeout: 60_000 }, async () => {
  const echo = await echoServer();
  const logDir = mkdtempSync(join(tmpdir(), "spliced-log-file-"));
  const file = join(logDir, "spliced.log");
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${echo.port}`, "--workers", "1", "--log-format", "json", "--log-file", file, "--grace-period", "1s"]);
  try {
    const startEvents = ["start", "listener", "admin"];
    assert.deepEqual(records(readFileSync(file, "utf8")).map((r) => r.event), startEvents);
    const c = await connect(proxy.port);
    c.socket.end("hello");
    await c.closed;
    assert.equal(c.received.text(), "hello");
    renameSync(file, `${file}.1`); // what logrotate does before its postrotate kill -USR1
    signal(proxy.pid, "SIGUSR1");
    assert.ok(await eventually(() => existsSync(file) && /"event":"reopen"/.test(readFileSync(file, "utf8"))), "a new file after SIGUSR1");
    assert.equal(await proxy.stop(), 0);
    assert.deepEqual(records(readFileSync(`${file}.1`, "utf8")).map((r) => r.event), startEvents, "the old file keeps what came before");
    assert.deepEqual(records(readFileSync(file, "utf8")).map((r) => r.event), ["reopen", "signal", "drain", "drained", "shutdown"]);
    assert.deepEqual(records(proxy.output()).map((r) => r.event), startEvents, "stdout has the start lines, stderr nothing");
  } finally {
    await proxy.stop();
    await echo.close();
    rmSync(logDir, { recursive: true, force: true });
  }
  const r = await runCli(["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--log-file", "/nonexistent/dir/spliced.log"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /--log-file: directory "\/nonexistent\/dir" does not exist/);
});

test("logging: a bad --log-format, --log-level or log block is one line naming the flag or the field", { timeout: 60_000 }, async () => {
  const cases: [string[], string, number][] = [
    [["tcp", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--log-format", "xml"], `command line: --log-format: expected "text" or "json", got "xml"`, 2],
    [["http", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--log-level", "loud"], `command line: --log-level: expected "error" or "warn" or "info" or "debug", got "loud"`, 2],
  ];
  const ok = configFile("ok.json", { listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:9"] }] });
  cases.push([["--config", ok, "--log-level", "verbose"], `command line: --log-level: expected "error" or "warn" or "info" or "debug", got "verbose"`, 2]);
  const typo = configFile("typo.json", { log: { formt: "json" }, listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:9"] }] });
  cases.push([["check", "--config", typo], `${typo}: log: unknown key "formt"; did you mean "format"?`, 2]);
  const kind = configFile("kind.json", { log: "json", listeners: [{ listen: "127.0.0.1:0", upstreams: ["127.0.0.1:9"] }] });
  cases.push([["check", "--config", kind], `${kind}: log: expected an object, as { "format": "json", "level": "info" }, got "json"`, 2]);
  cases.push([["check", "--config", ok, "--log-level", "debug"], "spliced: --log-level does not apply to check (see spliced check --help)", 2]);
  for (const [args, expected, code] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), expected, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});

test("logging: the library's StartOptions.log: JSON lines to a sink, a health change, a failed worker and its restart, the drain", { timeout: 60_000 }, async () => {
  process.env.SPLICED_TEST_HOOKS = "1";
  const echo = await echoServer();
  const dead = await deadPort();
  const lines: string[] = [];
  const proxy = await startProxy({
    workers: 1,
    listeners: [{
      name: "svc", listen: "127.0.0.1:0", upstreams: [`127.0.0.1:${echo.port}`, `127.0.0.1:${dead}`],
      healthCheck: { interval: "100ms", rise: 1, fall: 1 },
    }],
  }, { log: { format: "json", sink: (line, stream) => lines.push(`${stream} ${line}`) } });
  try {
    const stderr = () => records(lines.filter((l) => l.startsWith("stderr ")).map((l) => l.slice(7)).join("\n"));
    assert.ok(await eventually(() => stderr().some((r) => r.event === "health" && r.to === "down")), lines.join("\n"));
    const down = stderr().find((r) => r.event === "health" && r.to === "down")!;
    assert.deepEqual([down.level, down.upstream, down.from], ["warn", `svc/127.0.0.1:${dead}`, "unchecked"]);
    assert.match(down.reason, /^1 check failed in a row: connect: ECONNREFUSED$/);

    assert.equal(proxy.injectWorkerFault(0), true);
    assert.ok(await eventually(() => stderr().some((r) => r.event === "worker_restarted"), 20_000), lines.join("\n"));
    const failed = stderr().find((r) => r.event === "worker_failed")!;
    assert.deepEqual([failed.level, failed.worker, failed.generation, failed.error], ["warn", 0, 1, "fault injected by the test hook"]);
    const restarted = stderr().find((r) => r.event === "worker_restarted")!;
    assert.deepEqual([restarted.level, restarted.worker, restarted.restarts], ["info", 0, 1]);

    const c = await connect(proxy.address("svc").port);
    c.socket.end("after the restart");
    await c.closed;
    assert.equal(c.received.text(), "after the restart");
    await proxy.close(1000);
    const events = stderr().map((r) => r.event);
    assert.deepEqual(events.slice(-2), ["drain", "drained"]);
    assert.deepEqual([stderr().at(-1)!.open, stderr().at(-1)!.finished, stderr().at(-1)!.closed_at_deadline], [0, 0, 0]);
    assert.ok(lines.every((l) => l.startsWith("stderr ")), "the library prints no start lines");
  } finally {
    delete process.env.SPLICED_TEST_HOOKS;
    await proxy.close(0);
    processLog.configure({});
    await echo.close();
  }
});

/**
 * The process log's line shapes, level filtering, fixed settings against the
 * config's, the start lines, the health/DNS event lines, and the drain lines.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { logEventLine, healthLine } from "../health/log.ts";
import { logDrained, logDraining, logRetiring, summarize } from "./drain.ts";
import { jsonLine, LOG_LEVELS, oneLine, shows, textLine } from "./format.ts";
import { LogFile } from "./file.ts";
import { Logger, type LogStream } from "./logger.ts";

/** A logger whose lines land in an array, with their stream. */
function capture(options: ConstructorParameters<typeof Logger>[0] = {}): { log: Logger; lines: { line: string; stream: LogStream }[] } {
  const lines: { line: string; stream: LogStream }[] = [];
  return { log: new Logger({ ...options, sink: (line, stream) => lines.push({ line, stream }) }), lines };
}

test("log format: a JSON line is time, level, event, msg, then the fields; fields cannot replace those four", () => {
  const time = new Date("2026-12-02T10:00:00.000Z");
  const line = jsonLine({ time, level: "warn", event: "reload", msg: "a\n  b", fields: { msg: "x", level: "debug", generation: 2, gone: undefined } });
  assert.equal(line, '{"time":"2026-12-02T10:00:00.000Z","level":"warn","event":"reload","msg":"a; b","generation":2}');
});

test("log format: a text line is `spliced: msg` on one line, or its own text", () => {
  const time = new Date();
  assert.equal(textLine({ time, level: "info", event: "x", msg: "reload failed:\nf.json: a: bad\nf.json: b: bad" }), "spliced: reload failed:; f.json: a: bad; f.json: b: bad");
  assert.equal(textLine({ time, level: "info", event: "x", msg: "m", text: "listener a tcp 127.0.0.1:1 -> b" }), "listener a tcp 127.0.0.1:1 -> b");
  assert.equal(oneLine("one"), "one");
});

test("log levels: each level shows itself and the more severe ones only", () => {
  for (const threshold of LOG_LEVELS) {
    const shown = LOG_LEVELS.filter((level) => shows(threshold, level));
    assert.deepEqual(shown, LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(threshold) + 1), threshold);
  }
});

test("logger: info by default, on stderr; debug only at debug; error keeps errors only", () => {
  const { log, lines } = capture();
  log.debug("d", "hidden");
  log.info("i", "shown");
  assert.deepEqual(lines, [{ line: "spliced: shown", stream: "stderr" }]);
  log.follow({ level: "error" });
  log.warn("w", "hidden");
  log.info("i", "hidden");
  log.error("e", "kept");
  log.follow({ level: "debug" });
  log.debug("d", "now shown");
  assert.deepEqual(lines.map((l) => l.line), ["spliced: shown", "spliced: kept", "spliced: now shown"]);
});

test("logger: fixed settings beat the config's, which apply where nothing is fixed", () => {
  const { log, lines } = capture({ format: "json" });
  log.follow({ format: "text", level: "warn" });
  assert.deepEqual(log.settings, { format: "json", level: "warn" });
  log.info("i", "hidden at warn");
  log.warn("worker_failed", "worker 0 failed", { worker: 0 });
  const record = JSON.parse(lines[0].line);
  assert.deepEqual({ ...record, time: undefined }, { time: undefined, level: "warn", event: "worker_failed", msg: "worker 0 failed", worker: 0 });
  assert.ok(!Number.isNaN(Date.parse(record.time)));
  log.follow(undefined);
  assert.deepEqual(log.settings, { format: "json", level: "info" });
});

test("logger: a sink that throws loses its line, and the caller carries on", () => {
  const log = new Logger({ sink: () => {
    throw new Error("disk full");
  } });
  assert.doesNotThrow(() => log.error("reload_failed", "x"));
  assert.doesNotThrow(() => log.announce("start", "spliced"));
});

test("logger: start lines go to stdout at every level, as text or JSON", () => {
  const { log, lines } = capture({ level: "error" });
  log.announce("listener", "listener db tcp 127.0.0.1:5 -> 127.0.0.1:6", { name: "db", port: 5 });
  log.follow({ format: "json" });
  log.announce("listener", "listener db tcp 127.0.0.1:5 -> 127.0.0.1:6", { name: "db", port: 5 });
  assert.deepEqual(lines.map((l) => l.stream), ["stdout", "stdout"]);
  assert.equal(lines[0].line, "listener db tcp 127.0.0.1:5 -> 127.0.0.1:6");
  const record = JSON.parse(lines[1].line);
  assert.deepEqual([record.event, record.level, record.msg, record.name, record.port], ["listener", "info", lines[0].line, "db", 5]);
});

test("health lines: as they were in text; in JSON a warn record (down) with the same fields", () => {
  const change = { upstream: "db/10.0.0.5:5432", from: "up", to: "down", reason: "3 checks failed in a row: connect: ECONNREFUSED" } as const;
  const line = healthLine(change);
  const { log, lines } = capture();
  logEventLine(line, log);
  assert.equal(lines[0].line, line);
  log.follow({ format: "json" });
  logEventLine(line, log);
  logEventLine(healthLine({ ...change, from: "down", to: "up", reason: "2 checks passed in a row" }), log);
  const [down, up] = lines.slice(1).map((l) => JSON.parse(l.line));
  assert.deepEqual({ ...down, time: undefined }, {
    time: undefined, level: "warn", event: "health", msg: `health: ${change.upstream}: up -> down (${change.reason})`, ...change,
  });
  assert.equal(up.level, "info");
  log.follow({ level: "error" });
  logEventLine(line, log);
  assert.equal(lines.length, 3, "a health warning is not an error");
});

test("dns lines: a failed lookup is a warning that says what it kept", () => {
  const { log, lines } = capture({ format: "json" });
  logEventLine(JSON.stringify({ event: "dns", time: new Date().toISOString(), host: "db.internal", error: "cannot resolve", kept: ["10.0.0.5"] }), log);
  const record = JSON.parse(lines[0].line);
  assert.deepEqual([record.level, record.event, record.msg, record.kept], ["warn", "dns", "dns: db.internal: cannot resolve; keeping 10.0.0.5", ["10.0.0.5"]]);
});

test("drain lines: counts summed over workers; finished is open minus closed at the deadline", () => {
  const s = summarize([{ open: 30, cut: 2 }, { open: 13, cut: 0 }, undefined]);
  assert.deepEqual(s, { open: 43, finished: 41, cut: 2, unreported: 1 });
  const { log, lines } = capture();
  logDraining(log, 43, 30_000);
  logDrained(log, { ...s, unreported: 0 });
  logDrained(log, summarize([{ open: 1, cut: 0 }]), 3);
  logDrained(log, s);
  logRetiring(log, 3, 1, 4);
  assert.deepEqual(lines.map((l) => l.line), [
    "spliced: draining 43 connections (grace period 30s)",
    "spliced: drained: 41 connections finished, 2 closed at the grace deadline",
    "spliced: drained (generation 3, replaced): 1 connection finished, 0 closed at the grace deadline",
    "spliced: drained: 41 connections finished, 2 closed at the grace deadline; 1 worker did not report",
    "spliced: draining generation 3 (replaced by 4): 1 connection open, left to finish",
  ]);
  log.follow({ format: "json" });
  logDrained(log, summarize([{ open: 2, cut: 1 }]), 1);
  const record = JSON.parse(lines[5].line);
  assert.deepEqual([record.event, record.generation, record.open, record.finished, record.closed_at_deadline, "workers_unreported" in record],
    ["drained", 1, 2, 1, 1, false]);
});

test("logger: a log file takes every line (start lines go to the sink too), reopens at its path, and falls back to the console when it cannot open", () => {
  const dir = mkdtempSync(join(tmpdir(), "spliced-logger-file-"));
  const path = join(dir, "spliced.log");
  try {
    const log = new Logger({ format: "json" });
    log.follow({ file: path });
    log.info("one", "first");
    renameSync(path, `${path}.1`);
    log.reopen();
    log.warn("two", "second");
    log.follow(undefined); // the file left the config: closed, back to the console
    const events = (p: string) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l).event);
    assert.deepEqual(events(`${path}.1`), ["one"]);
    assert.deepEqual(events(path), ["two"]);
    assert.equal(new LogFile(join(dir, "no", "such", "dir.log")).failure?.startsWith(`cannot open "${join(dir, "no", "such", "dir.log")}": ENOENT`), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The data plane's clock: durations in the access log and the histograms in
 * /metrics match a delay an upstream adds on purpose. The clock is read once
 * per wake-up, right after epoll_wait returns, so a timestamp is never older
 * than the events it belongs to (it used to be up to one 100 ms sweep old).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadSys } from "../ffi/mod.ts";
import * as C from "../ffi/constants.ts";
import { encodeSockaddr } from "../ffi/sockaddr.ts";
import { get, HttpConn, httpUpstream, tempDir } from "./helpers/http.ts";
import { parseMetrics, type Metrics } from "./helpers/metrics.ts";
import { connect, startServer } from "./helpers/peers.ts";
import { eventually, sleep, startSpliced, type SplicedProcess } from "./helpers/spliced.ts";

/** What the upstream waits before it answers (or closes), in ms. */
const DELAY_MS = 150;
/** How much later than the delay a logged duration may be: loopback hops and scheduling, not a sweep. */
const SLACK_MS = 40;
/** Below DELAY_MS by at most a timer's rounding (a 150 ms timer may fire at 149.x ms). */
const EARLY_MS = 1;

async function metrics(proxy: SplicedProcess): Promise<Metrics> {
  const res = await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`, { headers: { connection: "close" } });
  return parseMetrics(await res.text());
}

/** Observations of `family` in the bucket (lower, upper] for the series with `labels`. */
function inBucket(m: Metrics, family: string, labels: Record<string, string>, lower: string, upper: string): number {
  const at = (le: string) => {
    const s = m.samples.find((s) => s.name === `${family}_bucket` && s.labels.le === le &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    assert.ok(s, `${family}_bucket{le="${le}"} present`);
    return s.value;
  };
  return at(upper) - at(lower);
}

function seriesValue(m: Metrics, name: string, labels: Record<string, string>): number {
  const s = m.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(s, `${name} present`);
  return s.value;
}

function assertNearDelay(ms: number, what: string): void {
  assert.ok(ms >= DELAY_MS - EARLY_MS && ms <= DELAY_MS + SLACK_MS, `${what} = ${ms} ms, expected ${DELAY_MS}..${DELAY_MS + SLACK_MS}`);
}

test("timing: access-log duration_ms/upstream_ms and the latency histogram match a 150 ms upstream", { timeout: 60_000 }, async () => {
  const upstream = await httpUpstream((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.end("late"), DELAY_MS));
  });
  const tmp = tempDir();
  const log = join(tmp.dir, "access.log");
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`, "--access-log", log]);
  const N = 8;
  try {
    const conn = await HttpConn.open(proxy.port);
    for (let i = 0; i < N; i++) {
      // Requests land at different points of the worker's 100 ms sweep cycle.
      await sleep(13 + ((i * 37) % 90));
      const r = await conn.request(get(`/t${i}`));
      assert.equal(r.status, 200);
    }
    conn.close();
    let lines: any[] = [];
    assert.ok(await eventually(() => {
      lines = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
      return lines.length === N;
    }), `${N} access-log lines`);
    for (const l of lines) {
      assertNearDelay(l.duration_ms, `${l.target} duration_ms`);
      assertNearDelay(l.upstream_ms, `${l.target} upstream_ms`);
    }
    const m = await metrics(proxy);
    const listener = Object.keys(proxy.ports)[0];
    assert.equal(inBucket(m, "spliced_listener_http_request_seconds", { listener }, "0.1", "0.25"), N, "every request in (0.1, 0.25] s");
    const sum = seriesValue(m, "spliced_listener_http_request_seconds_sum", { listener });
    assert.ok(sum >= N * (DELAY_MS - EARLY_MS) / 1000 && sum <= N * (DELAY_MS + SLACK_MS) / 1000, `latency sum ${sum} s`);
  } finally {
    await proxy.stop();
    await upstream.close();
    tmp.remove();
  }
});

test("timing: a TCP connection the upstream closes after 150 ms is observed as ~150 ms", { timeout: 60_000 }, async () => {
  const upstream = await startServer((c) => void setTimeout(() => c.socket.end(), DELAY_MS));
  const proxy = await startSpliced(["tcp", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`]);
  const N = 5;
  try {
    for (let i = 0; i < N; i++) {
      await sleep(11 + ((i * 41) % 90));
      const c = await connect(proxy.port);
      await c.ended;
      c.socket.destroy();
    }
    const listener = Object.keys(proxy.ports)[0];
    let m: Metrics | undefined;
    assert.ok(await eventually(async () => {
      m = await metrics(proxy);
      return seriesValue(m, "spliced_listener_connection_duration_seconds_count", { listener }) === N;
    }), "every connection observed");
    assert.equal(inBucket(m!, "spliced_listener_connection_duration_seconds", { listener }, "0.1", "0.25"), N);
    const sum = seriesValue(m!, "spliced_listener_connection_duration_seconds_sum", { listener });
    assert.ok(sum >= N * (DELAY_MS - EARLY_MS) / 1000 && sum <= N * (DELAY_MS + SLACK_MS) / 1000, `duration sum ${sum} s`);
  } finally {
    await proxy.stop();
    await upstream.close();
  }
});

/**
 * A listening socket whose accept queue is full (backlog 0, one connection
 * queued): the kernel drops the proxy's SYN and the proxy's kernel sends it
 * again after the initial retransmission timeout, 1 s. The queued connection is
 * accepted meanwhile, so the second SYN gets through: the connect takes ~1 s.
 */
async function slowConnectUpstream(): Promise<{ port: number; close: () => void; acceptAll: () => number[] }> {
  const sys = await loadSys();
  const fd = sys.socket(C.AF_INET, C.SOCK_STREAM | C.SOCK_NONBLOCK | C.SOCK_CLOEXEC, 0);
  const addr = encodeSockaddr({ host: "127.0.0.1", port: 0 });
  assert.ok(fd >= 0 && sys.bind(fd, addr.bytes, addr.length) === 0 && sys.listen(fd, 0) === 0, "raw listener");
  const name = new Uint8Array(16), len = new Uint32Array([16]);
  sys.getsockname(fd, name, len);
  const port = (name[2] << 8) | name[3];
  const accepted: number[] = [];
  let open = true;
  return {
    port,
    acceptAll: () => {
      for (let c; (c = sys.accept4(fd, C.SOCK_NONBLOCK | C.SOCK_CLOEXEC)) >= 0;) accepted.push(c);
      return accepted;
    },
    close: () => {
      for (const c of accepted.splice(0)) sys.close(c);
      if (open) sys.close(fd);
      open = false;
    },
  };
}

test("timing: an upstream connect the kernel delays by its 1 s SYN retransmission is observed as ~1 s", { timeout: 60_000 }, async () => {
  const upstream = await slowConnectUpstream();
  const proxy = await startSpliced(["http", "--listen", "127.0.0.1:0", "--to", `127.0.0.1:${upstream.port}`]);
  try {
    const filler = await connect(upstream.port); // fills the accept queue
    const conn = await HttpConn.open(proxy.port);
    conn.socket.write(get("/slow-connect"));
    await sleep(300);
    assert.equal(upstream.acceptAll().length, 1, "only the filler got through so far");
    const listener = Object.keys(proxy.ports)[0];
    let m: Metrics | undefined;
    assert.ok(await eventually(async () => {
      m = await metrics(proxy);
      return seriesValue(m, "spliced_listener_upstream_connect_seconds_count", { listener }) === 1;
    }), "the connect completed");
    const seconds = seriesValue(m!, "spliced_listener_upstream_connect_seconds_sum", { listener });
    assert.ok(seconds >= 1 && seconds <= 1 + SLACK_MS / 1000, `connect took ${seconds} s, expected 1..${1 + SLACK_MS / 1000}`);
    assert.equal(inBucket(m!, "spliced_listener_upstream_connect_seconds", { listener }, "1", "2.5"), 1);
    filler.socket.destroy();
    upstream.close(); // resets the proxy's queued connection: the client gets a 502 and the proxy stops at once
    conn.close();
  } finally {
    await proxy.stop();
    upstream.close();
  }
});

/**
 * One active check, asynchronous on the main thread (node:net): a TCP
 * connect, or an HTTP/1.1 request whose status line is read and matched
 * against `expect`. Never throws; the result says what failed.
 *
 * @module
 */
import net from "node:net";
import { statusMatches } from "./expect.ts";
import type { HttpCheck } from "./settings.ts";

/** The outcome of one check. */
export interface ProbeResult {
  readonly ok: boolean;
  /** Why it failed (null when ok). */
  readonly error: string | null;
  /** How long it took (seconds). */
  readonly seconds: number;
}

/** Where and how to check. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** Default Host header of an HTTP check. */
  readonly address: string;
  readonly timeoutMs: number;
  readonly http: HttpCheck | undefined;
}

/** Most a status line may take before the check gives up on it. */
const MAX_STATUS_LINE = 4096;
const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: |\r?$)/;

/** The request an HTTP check sends. */
export function checkRequest(http: HttpCheck, defaultHost: string): string {
  return `${http.method} ${http.path} HTTP/1.1\r\nHost: ${http.host ?? defaultHost}\r\nUser-Agent: spliced-health-check\r\n` +
    `Accept: */*\r\nConnection: close\r\n\r\n`;
}

/**
 * Reads the status from the start of a response: the status, -1 while the
 * line is incomplete, or throws SyntaxError for something that is not HTTP/1.x.
 */
export function parseStatusLine(text: string): number {
  const end = text.indexOf("\n");
  if (end < 0) {
    if (text.length > MAX_STATUS_LINE) throw new SyntaxError("status line too long");
    return -1;
  }
  const m = STATUS_LINE.exec(text.slice(0, end));
  if (!m) throw new SyntaxError(`not an HTTP/1.x response: ${JSON.stringify(text.slice(0, Math.min(end, 40)))}`);
  return Number(m[1]);
}

/** Runs one check of `t`; `signal` ends it early (the proxy closes). */
export function probe(t: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    let settled = false, text = "";
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: error === null, error, seconds: (performance.now() - started) / 1000 });
    };
    const timer = setTimeout(() => finish(`timed out after ${t.timeoutMs} ms`), t.timeoutMs);
    signal?.addEventListener("abort", () => finish("stopped"), { once: true });
    let connected = false;
    socket.on("error", (err: Error & { code?: string }) => finish(`${connected ? "read" : "connect"}: ${err.code ?? err.message}`));
    socket.on("connect", () => {
      connected = true;
      if (!t.http) return finish(null);
      socket.setEncoding("latin1");
      socket.write(checkRequest(t.http, t.address));
    });
    socket.on("data", (chunk: string) => {
      if (!t.http) return;
      text += chunk;
      try {
        const status = parseStatusLine(text);
        if (status >= 0) finish(statusMatches(t.http.expect, status) ? null : `HTTP status ${status}`);
      } catch (err) {
        finish((err as Error).message);
      }
    });
    socket.on("end", () => finish(t.http ? "closed before a status line" : null));
  });
}

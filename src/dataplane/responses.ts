/**
 * Short plain-text responses the proxy makes itself (errors, 404, 405...).
 *
 * @module
 */
import { encodeLatin1 } from "../http/chars.ts";
import { STATUS_TEXT } from "../http/errors.ts";

/**
 * A complete response: status line, headers, `status text` body; Connection per `keepAlive`.
 * With `headOnly` (the answer to a HEAD request) the body is left out and
 * Content-Length still gives its size (RFC 9110 §9.3.2).
 */
export function localResponse(
  status: number,
  detail: string,
  keepAlive: boolean,
  extra: Record<string, string> = {},
  headOnly = false,
): Uint8Array {
  const text = STATUS_TEXT[status] ?? "Error";
  const body = `${status} ${text}\n${detail ? `${detail}\n` : ""}`;
  let head = `HTTP/1.1 ${status} ${text}\r\nServer: spliced\r\nDate: ${new Date().toUTCString()}\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(extra)) head += `${name}: ${value}\r\n`;
  head += keepAlive ? "\r\n" : "Connection: close\r\n\r\n";
  return encodeLatin1(headOnly ? head : head + body);
}

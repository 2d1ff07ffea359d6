/**
 * JSON for config files, with spliced's own error text: the runtime's
 * `JSON.parse` does the parsing, and when it fails a small scanner (RFC 8259)
 * finds the first bad character and says what is wrong there, as
 * `line L column C: REASON`, the same on every runtime.
 *
 * @module
 */

/** Where a JSON text first goes wrong: 1-based line and column (in characters), and why. */
export interface JsonFault {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly reason: string;
}

/** The outcome of {@link parseJson}. */
export type JsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** Parses `text` (a leading byte order mark is skipped); on failure says where and why. */
export function parseJson(text: string): JsonResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    const fault = locateJsonError(body);
    if (!fault) return { ok: false, message: "invalid JSON" };
    return { ok: false, message: `line ${fault.line} column ${fault.column}: ${fault.reason}` };
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t", "u"]);

/** A character as a message shows it: `'x'`, `"'"`, or `U+00A0`. */
function char(c: string): string {
  const code = c.codePointAt(0)!;
  if (code === 0x27) return `"'"`;
  if (code > 0x20 && code < 0x7f) return `'${c}'`;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

class Fault {
  constructor(readonly offset: number, readonly reason: string) {}
}

/**
 * The first error in `text` as JSON, or undefined when it is valid JSON.
 * Iterative (no recursion), so any nesting depth is fine.
 */
export function locateJsonError(text: string): JsonFault | undefined {
  try {
    scan(text);
    return undefined;
  } catch (err) {
    if (!(err instanceof Fault)) throw err;
    return { ...position(text, err.offset), offset: err.offset, reason: err.reason };
  }
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1, start = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 0x0a) line++, start = i + 1;
  let column = 1;
  for (let i = start; i < offset; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < offset) i++;
    column++;
  }
  return { line, column };
}

function scan(text: string): void {
  const stack: string[] = [];
  let pos = 0;
  /** Offset of the last `,` read, when it was the last token: a trailing comma. */
  let comma = -1;

  const skip = () => {
    while (pos < text.length && WS.has(text.charCodeAt(pos))) pos++;
  };
  const unexpected = (what: string): never => {
    if (pos >= text.length) {
      const open = stack[stack.length - 1];
      const missing = open === "{" ? "'}'" : open === "[" ? "']'" : "a value";
      throw new Fault(pos, text.trim() === "" ? "the file is empty" : `unexpected end of file: missing ${missing}`);
    }
    const c = String.fromCodePoint(text.codePointAt(pos)!);
    if ((c === "}" || c === "]") && comma >= 0) throw new Fault(comma, `trailing comma before ${char(c)}`);
    if (c === "/") throw new Fault(pos, "unexpected '/': JSON has no comments");
    if (c === "'") throw new Fault(pos, "unexpected \"'\": JSON strings use double quotes");
    const word = /^[A-Za-z_$][\w$]*/.exec(text.slice(pos, pos + 40))?.[0];
    if (word) {
      const lower = word.toLowerCase();
      const literal = what === "a value" &&
        (["true", "false", "null"].some((l) => l.startsWith(lower) || lower.startsWith(l)) || ["undefined", "nan", "infinity", "none", "nil"].includes(lower));
      const why = literal ? "JSON's words are true, false and null" : what === "a key" ? "keys need double quotes" : "strings need double quotes";
      throw new Fault(pos, `unexpected word "${word}": ${why}`);
    }
    throw new Fault(pos, `expected ${what}, got ${char(c)}`);
  };

  const string = () => {
    const open = pos++;
    for (;;) {
      if (pos >= text.length) throw new Fault(open, "unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) return void pos++;
      if (c < 0x20) {
        throw new Fault(pos, c === 0x0a ? "line break inside a string (write it as \\n)" : `control character ${char(text[pos])} inside a string`);
      }
      if (c === 0x5c) {
        const e = text[pos + 1];
        if (e === undefined) throw new Fault(open, "unterminated string");
        if (!ESCAPES.has(e)) {
          const shown = e > " " && e < "\x7f" ? `"\\${e}"` : `'\\' followed by ${char(e)}`;
          throw new Fault(pos, `invalid escape ${shown} in a string`);
        }
        if (e === "u" && !/^[0-9A-Fa-f]{4}$/.test(text.slice(pos + 2, pos + 6))) throw new Fault(pos, "invalid \\u escape: expected 4 hex digits");
        pos += e === "u" ? 6 : 2;
        continue;
      }
      pos++;
    }
  };

  const digits = () => {
    const from = pos;
    while (pos < text.length && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
    return pos - from;
  };

  const number = () => {
    if (text[pos] === "-") pos++;
    if (text[pos] === "0") {
      pos++;
      if (/[0-9]/.test(text[pos] ?? "")) throw new Fault(pos - 1, "numbers cannot start with 0");
    } else if (digits() === 0) throw new Fault(pos, "expected a digit");
    if (text[pos] === ".") {
      pos++;
      if (digits() === 0) throw new Fault(pos, "expected a digit after '.'");
    }
    if (text[pos] === "e" || text[pos] === "E") {
      pos++;
      if (text[pos] === "+" || text[pos] === "-") pos++;
      if (digits() === 0) throw new Fault(pos, "expected a digit in the exponent");
    }
  };

  /** Reads one value, or opens a container (then returns true). */
  const value = (): boolean => {
    skip();
    const c = text[pos];
    if (c === "{" || c === "[") {
      stack.push(c);
      pos++;
      comma = -1;
      return true;
    }
    if (c === '"') string();
    else if (c === "-" || (c >= "0" && c <= "9")) number();
    else if (text.startsWith("true", pos)) pos += 4;
    else if (text.startsWith("false", pos)) pos += 5;
    else if (text.startsWith("null", pos)) pos += 4;
    else unexpected("a value");
    comma = -1;
    return false;
  };

  const key = () => {
    skip();
    if (text[pos] !== '"') unexpected("a key");
    string();
    comma = -1;
    skip();
    if (text[pos] !== ":") {
      if (pos >= text.length) unexpected("':'");
      throw new Fault(pos, `expected ':' after the key, got ${char(String.fromCodePoint(text.codePointAt(pos)!))}`);
    }
    pos++;
  };

  // State: "value" wants a value; "first" just opened a container (it may close at once); "after" read a value.
  let state: "value" | "first" | "after" = "value";
  for (;;) {
    if (state === "value" || state === "first") {
      if (state === "first") {
        skip();
        const open = stack[stack.length - 1];
        if (text[pos] === (open === "{" ? "}" : "]")) {
          stack.pop();
          pos++;
          state = "after";
          continue;
        }
        if (open === "{") key();
      }
      state = value() ? "first" : "after";
      continue;
    }
    skip();
    const open = stack[stack.length - 1];
    if (open === undefined) {
      if (pos < text.length) {
        throw new Fault(pos, `unexpected ${char(String.fromCodePoint(text.codePointAt(pos)!))} after the end of the JSON value`);
      }
      return;
    }
    const close = open === "{" ? "}" : "]";
    const c = text[pos];
    if (c === ",") {
      comma = pos++;
      if (open === "{") key();
      state = "value";
    } else if (c === close) {
      stack.pop();
      pos++;
    } else if (pos >= text.length) {
      unexpected(close);
    } else {
      throw new Fault(pos, `expected ',' or '${close}', got ${char(String.fromCodePoint(text.codePointAt(pos)!))}`);
    }
  }
}

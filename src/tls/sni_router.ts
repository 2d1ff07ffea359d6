/**
 * Picks a TLS route by server name. Precedence, whatever the order in the
 * config: an exact name (`a.example.com`), then the wildcard with the longest
 * suffix (`*.example.net` matches `x.example.net` and `x.y.example.net`, one
 * label or more, never `example.net` itself), then the default route (the
 * one without `sni`), which also takes clients that sent no SNI. Names are
 * compared lower-cased.
 *
 * ```ts
 * const router = new SniRouter([{ sni: "a.example.com" }, { sni: "*.example.net" }, { sni: undefined }]);
 * router.match("x.example.net");   // the second route
 * router.match("");                // no SNI: the default route
 * ```
 *
 * @module
 */

/** Anything with an optional server-name pattern. */
export interface SniPattern {
  readonly sni: string | undefined;
}

/** Routes by server name, built once per listener. */
export class SniRouter<R extends SniPattern> {
  readonly #exact = new Map<string, R>();
  /** Wildcards as [".example.net", route], longest suffix first. */
  readonly #wildcards: [string, R][] = [];
  readonly #fallback: R | undefined;

  constructor(routes: readonly R[]) {
    let fallback: R | undefined;
    for (const r of routes) {
      const pattern = r.sni?.toLowerCase();
      if (pattern === undefined) fallback ??= r;
      else if (pattern.startsWith("*.")) this.#wildcards.push([pattern.slice(1), r]);
      else if (!this.#exact.has(pattern)) this.#exact.set(pattern, r);
    }
    this.#wildcards.sort((a, b) => b[0].length - a[0].length);
    this.#fallback = fallback;
  }

  /** The route for `name` (lower-case, "" for no SNI), or undefined when none matches and there is no default. */
  match(name: string): R | undefined {
    if (name === "") return this.#fallback;
    const exact = this.#exact.get(name);
    if (exact) return exact;
    for (const [suffix, r] of this.#wildcards) {
      if (name.length > suffix.length && name.endsWith(suffix)) return r;
    }
    return this.#fallback;
  }
}

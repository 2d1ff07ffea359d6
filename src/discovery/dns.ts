/**
 * DNS discovery (`dns.refresh`): keeps the last good address set of each
 * upstream host name and re-resolves them every `refresh`. A changed set calls
 * `onChange` (the proxy rebuilds its upstreams: new addresses join, vanished
 * ones drain); a failed or empty lookup keeps the last good set and logs one
 * JSON line `{"event":"dns","host","error","kept"}`.
 *
 * @module
 */
import { isIP } from "node:net";
import { logToStderr } from "../health/log.ts";
import { addressResolver, type AddressResolver } from "./resolver.ts";

/** The `dns` block of the config, validated. */
export interface DnsConfig {
  readonly refresh: number;
  readonly servers?: readonly string[];
}

/** Last good addresses per host, refreshed on a timer. */
export class DnsDiscovery {
  readonly #sets = new Map<string, string[]>();
  readonly #resolve: AddressResolver;
  readonly #log: (line: string) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;

  constructor(config: DnsConfig, readonly onChange: () => Promise<unknown>, log: (line: string) => void = logToStderr) {
    this.#resolve = addressResolver(config.servers);
    this.#log = log;
    this.#timer = setInterval(() => void this.refresh(), config.refresh);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** The addresses of `host`: the last good set, or a fresh lookup (which throws ResolveError) for a new name. */
  async addresses(host: string): Promise<string[]> {
    if (isIP(host)) return [host];
    const known = this.#sets.get(host);
    if (known) return known;
    const found = await this.#resolve(host);
    this.#sets.set(host, found);
    return found;
  }

  /** Forgets every set (a reload from the file resolves afresh). Names then unused are no longer refreshed. */
  forget(): void {
    this.#sets.clear();
  }

  /** Re-resolves every known name now; calls `onChange` once if any set changed. */
  async refresh(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      let changed = false;
      await Promise.all([...this.#sets.keys()].map(async (host) => {
        try {
          const found = await this.#resolve(host);
          if (found.join() !== this.#sets.get(host)?.join()) changed = true;
          this.#sets.set(host, found);
        } catch (err) {
          this.#log(JSON.stringify({ event: "dns", time: new Date().toISOString(), host, error: (err as Error).message, kept: this.#sets.get(host) }));
        }
      }));
      if (changed) await this.onChange();
    } finally {
      this.#busy = false;
    }
  }

  /** Stops the timer. */
  close(): void {
    clearInterval(this.#timer);
  }
}

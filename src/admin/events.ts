/**
 * `/events`: Server-Sent Events, one `stats` snapshot a second.
 *
 * One timer serves every subscriber (the snapshot is built and serialized once
 * per tick) and runs only while someone listens. A stream ends when its client
 * goes away (the HTTP server cancels the body), when the client
 * stops reading (more than {@link MAX_QUEUED} events queued), and when the
 * hub closes (admin server shutdown): an open stream never holds a server open.
 *
 * @module
 */

/** Events queued for a client that does not read before it is dropped. */
export const MAX_QUEUED = 30;

type Client = ReadableStreamDefaultController<Uint8Array>;

const encoder = new TextEncoder();

/** Formats one SSE event. `data` must hold no newline (JSON.stringify's output does not). */
export function sseEvent(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

/** Broadcasts snapshots to every open `/events` stream. */
export class EventHub {
  readonly #clients = new Set<Client>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(
    /** Builds the JSON of one snapshot. */
    private readonly snapshot: () => string,
    private readonly intervalMs = 1000,
  ) {}

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /** True once {@link close} ran: new streams are refused. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * A streaming response for one subscriber. (Not tied to the request's
   * AbortSignal: both servers cancel the body when the client goes away, and
   * Deno warns about reading that signal.)
   */
  open(): Response {
    let client: Client | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        client = c;
        c.enqueue(encoder.encode(`retry: 2000\n\n${sseEvent("stats", this.snapshot())}`));
        this.#add(c);
      },
      cancel: () => client && this.#remove(client),
    }, new CountQueuingStrategy({ highWaterMark: MAX_QUEUED }));
    return new Response(stream, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every stream and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (const c of [...this.#clients]) this.#end(c);
  }

  #add(c: Client): void {
    if (this.#closed) return void this.#end(c);
    this.#clients.add(c);
    this.#timer ??= setInterval(() => this.#tick(), this.intervalMs);
  }

  #remove(c: Client): void {
    this.#clients.delete(c);
    if (this.#clients.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #end(c: Client): void {
    this.#remove(c);
    try {
      c.close();
    } catch {
      // already closed or errored
    }
  }

  #tick(): void {
    if (this.#clients.size === 0) return;
    const chunk = encoder.encode(sseEvent("stats", this.snapshot()));
    for (const c of [...this.#clients]) {
      if ((c.desiredSize ?? 0) <= 0) this.#end(c); // not reading: drop rather than queue without bound
      else c.enqueue(chunk);
    }
  }
}

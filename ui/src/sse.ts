// A Server-Sent Events reader over fetch(): EventSource cannot send the
// Authorization header, and a token in the URL would end up in logs and
// history. The parser is pure; `connect` adds reconnect with backoff.

/** One parsed event. */
export interface SseEvent { event: string; data: string }

/** Incremental parser of an event stream (the WHATWG format, without `id`/`retry`). */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];

  /** Feeds a chunk of text; returns the events it completed. */
  feed(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const sep = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      // A lone trailing \r may be the first half of \r\n: wait for more.
      if (this.buffer[nl] === "\r" && sep === 1 && nl === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + sep);
      if (line === "") {
        if (this.data.length > 0) out.push({ event: this.event || "message", data: this.data.join("\n") });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
    }
    return out;
  }
}

/** Delay before reconnect attempt `n` (0-based): 0.5 s doubling to 15 s, with ±20 % jitter from `rand`. */
export function backoffMs(n: number, rand: () => number = Math.random): number {
  const base = Math.min(15_000, 500 * 2 ** Math.min(n, 10));
  return Math.round(base * (0.8 + 0.4 * rand()));
}

/** A stream that stayed open this long resets the backoff; shorter ones keep growing it. */
export const STABLE_MS = 10_000;

/** What `connect` reports. */
export interface SseHandlers {
  onOpen(): void;
  onEvent(e: SseEvent): void;
  /** The stream ended or failed; `status` is the HTTP status when there was one. */
  onDown(status: number | null): void;
}

/**
 * Reads `path` as an event stream with the token, reconnecting with backoff
 * until `stop()`; a 404 or 401 stops for good (the caller degrades).
 */
export function connect(path: string, token: string, h: SseHandlers): { stop(): void } {
  let stopped = false;
  let attempt = 0;
  let ctrl: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = async (): Promise<void> => {
    ctrl = new AbortController();
    let status: number | null = null;
    let openedAt: number | null = null;
    try {
      const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" }, signal: ctrl.signal });
      status = resp.status;
      if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
      openedAt = Date.now();
      h.onOpen();
      const parser = new SseParser();
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const e of parser.feed(value)) h.onEvent(e);
      }
      status = null;
    } catch {
      // Reported through onDown below.
    }
    if (stopped) return;
    // Only a stream that lasted resets the backoff: a server that accepts
    // and closes at once must not be hammered every half second.
    if (openedAt !== null && Date.now() - openedAt >= STABLE_MS) attempt = 0;
    h.onDown(status);
    if (status === 404 || status === 401) return;
    timer = setTimeout(() => void run(), backoffMs(attempt++));
  };
  void run();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      ctrl?.abort();
    },
  };
}

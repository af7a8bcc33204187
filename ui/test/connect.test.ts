import { afterEach, describe, expect, it, vi } from "vitest";
import { connect, type SseEvent } from "../src/sse.js";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const x of chunks) c.enqueue(enc.encode(x));
      c.close();
    },
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("connect", () => {
  it("sends the token as a header, parses events, reconnects after the stream ends, and stops", async () => {
    vi.useFakeTimers();
    const calls: RequestInit[] = [];
    vi.stubGlobal("fetch", vi.fn(async (_path: string, init: RequestInit) => {
      calls.push(init);
      return new Response(streamOf([`event: snapshot\ndata: {"n":${calls.length}}\n\n`]), { status: 200 });
    }));
    const events: SseEvent[] = [];
    let opens = 0;
    let downs = 0;
    const c = connect("/api/events", "tok", { onOpen: () => opens++, onEvent: (e) => events.push(e), onDown: () => downs++ });
    await vi.waitFor(() => expect(downs).toBe(1));
    expect((calls[0]?.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(events).toEqual([{ event: "snapshot", data: '{"n":1}' }]);
    await vi.advanceTimersByTimeAsync(700);
    await vi.waitFor(() => expect(events).toHaveLength(2));
    expect(opens).toBe(2);
    c.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.length).toBeLessThanOrEqual(3);
  });

  it("a server that keeps closing at once is retried with growing delays, not in a tight loop", async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    let n = 0;
    vi.stubGlobal("fetch", vi.fn(async () => {
      n++;
      return new Response(streamOf([`data: ${n}\n\n`]), { status: 200 });
    }));
    const c = connect("/api/events", "tok", { onOpen: () => undefined, onEvent: () => undefined, onDown: () => undefined });
    await vi.waitFor(() => expect(n).toBe(1));
    await vi.advanceTimersByTimeAsync(600); // first retry after 0.5 s
    expect(n).toBe(2);
    await vi.advanceTimersByTimeAsync(800); // the second waits 1 s
    expect(n).toBe(2);
    await vi.advanceTimersByTimeAsync(300);
    expect(n).toBe(3);
    c.stop();
    vi.restoreAllMocks();
  });

  it("gives up on 404 (the caller falls back) and reports the status", async () => {
    vi.useFakeTimers();
    const fetch = vi.fn(async () => new Response("no", { status: 404 }));
    vi.stubGlobal("fetch", fetch);
    const statuses: (number | null)[] = [];
    connect("/api/events", "tok", { onOpen: () => undefined, onEvent: () => undefined, onDown: (s) => statuses.push(s) });
    await vi.waitFor(() => expect(statuses).toEqual([404]));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("backs off and retries while the server is down", async () => {
    vi.useFakeTimers();
    const fetch = vi.fn(async () => {
      throw new TypeError("connection refused");
    });
    vi.stubGlobal("fetch", fetch);
    const statuses: (number | null)[] = [];
    const c = connect("/api/events", "tok", { onOpen: () => undefined, onEvent: () => undefined, onDown: (s) => statuses.push(s) });
    await vi.waitFor(() => expect(statuses).toEqual([null]));
    await vi.advanceTimersByTimeAsync(700);
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(2));
    c.stop();
  });
});

import { describe, expect, it } from "vitest";
import { backoffMs, SseParser } from "../src/sse.js";

describe("SseParser", () => {
  it("parses events split across chunks, skipping comments", () => {
    const p = new SseParser();
    expect(p.feed(": keep-alive\n\nevent: rout")).toEqual([]);
    expect(p.feed('ing\ndata: {"mode":\ndata: "fixed"}\n')).toEqual([]);
    expect(p.feed("\n")).toEqual([{ event: "routing", data: '{"mode":\n"fixed"}' }]);
  });
  it("handles CRLF, CR split mid-pair and default event name", () => {
    const p = new SseParser();
    expect(p.feed("data:x\r")).toEqual([]);
    expect(p.feed("\n\r\n")).toEqual([{ event: "message", data: "x" }]);
    expect(p.feed("event: a\rdata: 1\r\r:")).toEqual([{ event: "a", data: "1" }]);
  });
  it("an event without data is dropped, and the name does not leak", () => {
    const p = new SseParser();
    expect(p.feed("event: x\n\ndata: y\n\n")).toEqual([{ event: "message", data: "y" }]);
  });
});

describe("backoff", () => {
  it("doubles from 0.5 s to a 15 s cap, with jitter inside ±20 %", () => {
    expect(backoffMs(0, () => 0.5)).toBe(500);
    expect(backoffMs(3, () => 0.5)).toBe(4000);
    expect(backoffMs(40, () => 0.5)).toBe(15_000);
    expect(backoffMs(0, () => 0)).toBe(400);
    expect(backoffMs(0, () => 1)).toBe(600);
  });
});

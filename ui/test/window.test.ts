import { describe, expect, it } from "vitest";
import { addPoint, emptyWindow, MAX_POINTS, prune, toColumns, WINDOW_MS } from "../src/window.js";

const p = (atMs: number, ttftMs: number | null = 100) => ({ atMs, ttftMs, tokensPerSec: 10 });

describe("chart window", () => {
  it("keeps points in time order even when they arrive out of order", () => {
    let w = emptyWindow();
    w = addPoint(w, p(3000), 5000);
    w = addPoint(w, p(1000), 5000);
    w = addPoint(w, p(2000), 5000);
    expect(w.points.map((x) => x.atMs)).toEqual([1000, 2000, 3000]);
  });
  it("drops points older than 15 minutes, and ignores late ones", () => {
    const now = 10 * WINDOW_MS;
    let w = addPoint(emptyWindow(), p(now - WINDOW_MS - 1), now);
    expect(w.points).toHaveLength(0);
    w = addPoint(w, p(now - 1000), now);
    w = addPoint(w, p(now), now);
    expect(prune(w, now + WINDOW_MS - 500).points.map((x) => x.atMs)).toEqual([now]);
  });
  it("prune returns the same object when nothing expires (memoised charts stay)", () => {
    const w = addPoint(emptyWindow(), p(1000), 1000);
    expect(prune(w, 2000)).toBe(w);
  });
  it("is capped", () => {
    let w = emptyWindow();
    for (let i = 0; i < MAX_POINTS + 10; i++) w = addPoint(w, p(i), MAX_POINTS + 10);
    expect(w.points).toHaveLength(MAX_POINTS);
    expect(w.points[0]?.atMs).toBe(10);
  });
  it("columns for uPlot are in seconds with nulls kept", () => {
    expect(toColumns([p(2000, null)])).toEqual([[2], [null], [10]]);
  });
});

// The rolling 15-minute window behind each seller's live chart: points in
// time order, older ones dropped, and the columns uPlot draws.

/** How much the live chart shows. */
export const WINDOW_MS = 15 * 60_000;
/** A hard cap per seller, so a busy seller cannot grow the buffer without end. */
export const MAX_POINTS = 3000;

/** One measured request. */
export interface ChartPoint { atMs: number; ttftMs: number | null; tokensPerSec: number | null }
/** A seller's window (immutable: every change makes a new one). */
export interface ChartWindow { points: readonly ChartPoint[] }

/** An empty window. */
export function emptyWindow(): ChartWindow {
  return { points: [] };
}

/** Drops points older than the window at `nowMs` (returns `w` itself when nothing goes). */
export function prune(w: ChartWindow, nowMs: number): ChartWindow {
  const since = nowMs - WINDOW_MS;
  let i = 0;
  while (i < w.points.length && (w.points[i]?.atMs ?? 0) < since) i++;
  const excess = Math.max(0, w.points.length - i - MAX_POINTS);
  return i + excess === 0 ? w : { points: w.points.slice(i + excess) };
}

/** Adds a point in time order and prunes; a point already outside the window is ignored. */
export function addPoint(w: ChartWindow, p: ChartPoint, nowMs: number): ChartWindow {
  if (p.atMs < nowMs - WINDOW_MS) return w;
  const pts = w.points.slice();
  let i = pts.length;
  while (i > 0 && (pts[i - 1]?.atMs ?? 0) > p.atMs) i--;
  pts.splice(i, 0, p);
  return prune({ points: pts }, nowMs);
}

/** uPlot's columns: seconds, TTFT ms, tokens/s (null where not measured). */
export function toColumns(points: readonly ChartPoint[]): [number[], (number | null)[], (number | null)[]] {
  return [points.map((p) => p.atMs / 1000), points.map((p) => p.ttftMs), points.map((p) => p.tokensPerSec)];
}

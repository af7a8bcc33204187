// What the Sellers view reads from /api/history beyond the chart points.

import type { HistoryPoint } from "./types.js";

/** Per seller, the highest per-minute TTFT p95 among history points (an upper bound of the window's p95). */
export function p95BySeller(points: HistoryPoint[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of points) {
    if (p.ttftP95Ms === null) continue;
    out[p.seller] = Math.max(out[p.seller] ?? 0, p.ttftP95Ms);
  }
  return out;
}

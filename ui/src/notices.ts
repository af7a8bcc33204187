// Notices a core without /api/notices still has: failovers, read from the
// request log (a row with more than one attempt).

import type { Notice, RequestRow } from "./types.js";

/** Failovers read from the request log, for a core that pushes no notices yet. */
export function failoverNotices(requests: RequestRow[], limit: number): Notice[] {
  const out: Notice[] = [];
  for (const r of requests) {
    if (r.attempts.length < 2) continue;
    const failed = r.attempts.slice(0, -1).map((a) => `${a.seller}${a.why ? ` (${a.why})` : ""}`).join(", ");
    const last = r.attempts[r.attempts.length - 1];
    out.push({
      atMs: r.atMs, kind: "failover", seller: last?.seller ?? null,
      message: `Request #${r.id} (${r.modelAsked}): ${failed} failed; ${last?.outcome === "served" ? `served by ${last.seller}` : "no seller could serve it"}.`,
    });
    if (out.length >= limit) break;
  }
  return out;
}

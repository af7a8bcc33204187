// The request log's filters (agent, seller, model, status) as a pure predicate.

import type { RequestRow } from "./types.js";

/** Which rows a filter keeps (pure, for tests). */
export interface RequestFilter { agent: string; seller: string; model: string; status: "" | "ok" | "error" | "failover" }

/** Whether `r` passes `f` (empty fields match all). */
export function matches(r: RequestRow, f: RequestFilter): boolean {
  if (f.agent && r.agent !== f.agent) return false;
  if (f.seller && r.seller !== f.seller && !r.attempts.some((a) => a.seller === f.seller)) return false;
  if (f.model && r.modelAsked !== f.model) return false;
  const ok = r.status < 400 && r.outcome === "served";
  if (f.status === "ok" && !ok) return false;
  if (f.status === "error" && ok) return false;
  if (f.status === "failover" && r.attempts.length < 2) return false;
  return true;
}

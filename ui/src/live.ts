// The panel's live state and the pure reducer that applies each pushed
// event to it. Every update returns new objects only where something
// changed, so keyed, memoised rows re-render only for the seller that moved.

import type { AgentsEvent, DriftEntry, Notice, ProxyState, RequestRow, RoutingSettings, SellersResponse, StoreStatus } from "./types.js";
import { addPoint, emptyWindow, type ChartWindow } from "./window.js";

/** How many request rows and notices the panel keeps in memory. */
export const MAX_REQUESTS = 500;
export const MAX_NOTICES = 200;

/** Everything the panel shows live. */
export interface LiveState {
  /** `live`: /api/events; `polling`: the fallback without it; `down`: no answer; `denied`: the token was refused. */
  link: "connecting" | "live" | "polling" | "down" | "denied";
  sellers: SellersResponse | null;
  routing: RoutingSettings | null;
  /** null while the core has no /api/proxy. */
  proxy: ProxyState | null;
  store: StoreStatus | null;
  /** Newest first, at most MAX_REQUESTS, unique by id. */
  requests: RequestRow[];
  /** Newest first, at most MAX_NOTICES. */
  notices: Notice[];
  drift: DriftEntry[] | null;
  /** Bumped on every `agents` event, so the agents view refetches. */
  agentsGeneration: number;
  /** Per seller: TTFT and tokens/s of its recent requests (the 15-minute chart). */
  charts: Record<string, ChartWindow>;
}

/** An event the reducer understands (the /api/events names plus the panel's own). */
export type LiveEvent =
  | { type: "snapshot"; data: { sellers: SellersResponse; routing: RoutingSettings; proxy: ProxyState | null; store: StoreStatus | null } }
  | { type: "sellers"; data: SellersResponse }
  | { type: "routing"; data: RoutingSettings }
  | { type: "proxy"; data: ProxyState }
  | { type: "store"; data: StoreStatus }
  | { type: "request"; data: RequestRow }
  | { type: "requests"; data: RequestRow[] }
  | { type: "agents"; data: AgentsEvent }
  | { type: "notice"; data: Notice }
  | { type: "notices"; data: Notice[] }
  | { type: "link"; data: LiveState["link"] };

/** The state before anything arrived. */
export function initialState(): LiveState {
  return {
    link: "connecting", sellers: null, routing: null, proxy: null, store: null,
    requests: [], notices: [], drift: null, agentsGeneration: 0, charts: {},
  };
}

function chartWith(charts: Record<string, ChartWindow>, rows: RequestRow[], nowMs: number): Record<string, ChartWindow> {
  let out = charts;
  for (const r of rows) {
    if (!r.seller || (r.ttftMs === null && r.tokensPerSec === null)) continue;
    const before = out[r.seller] ?? emptyWindow();
    const after = addPoint(before, { atMs: r.atMs, ttftMs: r.ttftMs, tokensPerSec: r.tokensPerSec }, nowMs);
    if (after !== before) {
      if (out === charts) out = { ...charts };
      out[r.seller] = after;
    }
  }
  return out;
}

function mergeRequests(existing: RequestRow[], incoming: RequestRow[]): RequestRow[] {
  const seen = new Set(existing.map((r) => r.id));
  const fresh = incoming.filter((r) => !seen.has(r.id));
  if (fresh.length === 0) return existing;
  return [...fresh, ...existing].sort((a, b) => b.id - a.id).slice(0, MAX_REQUESTS);
}

/**
 * `next` with every seller that did not change replaced by the previous
 * object, so memoised rows compare by identity (50 sellers, 2 updates/s).
 */
export function shareSellers(prev: SellersResponse | null, next: SellersResponse): SellersResponse {
  if (!prev) return next;
  const old = new Map(prev.sellers.map((s) => [s.id, s]));
  let same = prev.sellers.length === next.sellers.length;
  const sellers = next.sellers.map((s, i) => {
    const o = old.get(s.id);
    const keep = o && JSON.stringify(o) === JSON.stringify(s) ? o : s;
    if (keep !== prev.sellers[i]) same = false;
    return keep;
  });
  const file = JSON.stringify(prev.file) === JSON.stringify(next.file) ? prev.file : next.file;
  return same && file === prev.file ? prev : { sellers, file };
}

/** Applies one event at `nowMs`. */
export function reduce(s: LiveState, e: LiveEvent, nowMs: number): LiveState {
  switch (e.type) {
    case "snapshot":
      // A (re)connect: the snapshot replaces the pushed state; the request
      // log and charts keep what they have (rows are immutable, unique by id).
      return { ...s, link: "live", sellers: shareSellers(s.sellers, e.data.sellers), routing: e.data.routing, proxy: e.data.proxy ?? s.proxy, store: e.data.store ?? s.store };
    case "sellers": {
      const sellers = shareSellers(s.sellers, e.data);
      return sellers === s.sellers ? s : { ...s, sellers };
    }
    case "routing":
      return { ...s, routing: e.data };
    case "proxy":
      return { ...s, proxy: e.data };
    case "store":
      return { ...s, store: e.data };
    case "request":
    case "requests": {
      const rows = e.type === "request" ? [e.data] : e.data;
      const requests = mergeRequests(s.requests, rows);
      if (requests === s.requests) return s;
      return { ...s, requests, charts: chartWith(s.charts, rows, nowMs) };
    }
    case "agents":
      return { ...s, drift: e.data.drift, agentsGeneration: s.agentsGeneration + 1 };
    case "notice": {
      const n = e.data;
      // A notice seen already (a resync's backfill overlapping the stream) is not shown twice.
      if (s.notices.some((x) => x.atMs === n.atMs && x.kind === n.kind && x.message === n.message)) return s;
      return { ...s, notices: [n, ...s.notices].slice(0, MAX_NOTICES) };
    }
    case "notices":
      return { ...s, notices: [...e.data].sort((a, b) => b.atMs - a.atMs).slice(0, MAX_NOTICES) };
    case "link":
      return s.link === e.data ? s : { ...s, link: e.data };
  }
}

/** Requests per minute over the last minute, and the error share among them. */
export function recentRate(requests: RequestRow[], nowMs: number): { perMin: number; errorRate: number | null } {
  const since = nowMs - 60_000;
  let n = 0;
  let bad = 0;
  for (const r of requests) {
    if (r.atMs < since) break;
    n++;
    if (r.status >= 400 || r.outcome !== "served") bad++;
  }
  return { perMin: n, errorRate: n === 0 ? null : bad / n };
}

// The /api shapes the panel reads (camelCase, as the core serialises them).
// Kept by hand until the OpenAPI-generated types land (issue 10).

/** Why a seller is out of rotation, and until when. */
export interface Cooldown { cause: string; untilMs: number }
/** The latest background probe. */
export interface Probe { ok: boolean; latencyMs: number; atMs: number; error: string | null }
/** A seller's live statistics. */
export interface Stats {
  requests: number; errors: number; inFlight: number; waiting: number; outputTokens: number;
  ttftLastMs: number | null; ttftEwmaMs: number | null; ttftP95Ms?: number | null; tokensPerSec: number | null;
  cooldown: Cooldown | null; circuit: "closed" | "open" | "half-open"; errorRate: number;
  lastError: string | null; probe?: Probe | null;
}
/** A seller's credits. */
export interface Credits { balance: number; spent: number; remaining: number; sinceMs: number; low: boolean; exhausted: boolean }
/** List prices per million tokens. */
export interface Prices { input: number; output: number; cacheRead?: number; cacheWrite?: number }
/** One seller as GET /api/sellers shows it. */
export interface Seller {
  id: string; name: string; baseUrl: string; protocols: string[]; models: string[];
  discountRatio: number; serviceFeeRatio: number; priority: number; maxConcurrency: number | null;
  prices: Record<string, Prices>; credits: Credits | null; stats: Stats; keyRef?: string | null;
}
/** GET /api/sellers. */
export interface SellersResponse { sellers: Seller[]; file: { path: string; generation: number; error: string | null } }

/** Routing modes and scorers. */
export type Mode = "fixed" | "fixedSet" | "fullAuto";
export type Scorer = "speed" | "discount" | "balanced";
/** GET/PUT /api/routing. */
export interface RoutingSettings { mode: Mode; scorer: Scorer; fixedSeller: string | null; fixedSet: string[]; fixedFailover: boolean }

/** One candidate of a route plan. */
export interface Ranked {
  seller: string;
  score: { total: number; ttft: number; throughput: number; health: number; price: number; missing: string[] };
  inputs: { ttftMs: number | null; tokensPerSec: number | null; health: number; price: number | null };
  note: string | null; explored: boolean;
}
/** GET /api/route-plan. */
export interface Plan { ranked: Ranked[]; excluded: { seller: string; reason: string }[] }

/** One attempt of a request. */
export interface Attempt { seller: string; outcome: string; status: number | null; why: string | null }
/** One request-log row (GET /api/requests/{id}). */
export interface RequestRow {
  id: number; atMs: number; agent: string; protocol: string; endpoint: string; modelAsked: string;
  modelSent: string | null; stream: boolean; seller: string | null; status: number; outcome: string;
  ttftMs: number | null; durationMs: number | null; generatingMs: number | null;
  usage: { input: number | null; output: number | null; cacheRead: number | null; cacheWrite: number | null };
  tokensPerSec: number | null; cost: number | null; attempts: Attempt[];
}
/** GET /api/requests. */
export interface RequestPage { requests: RequestRow[]; next: number | null }
/** One row of GET /api/usage. */
export interface UsageRow {
  key: string; requests: number; errors: number; inputTokens: number; outputTokens: number;
  cacheReadTokens: number; cacheWriteTokens: number; cost: number | null; unpricedRequests: number;
}
/** One point of GET /api/history. */
export interface HistoryPoint {
  seller: string; atMs: number; requests: number; errors: number; ttftMs: number | null;
  ttftP95Ms: number | null; ttftSamples: number; outputTokens: number; tokensPerSec: number | null;
}
/** GET /api/store. */
export interface StoreStatus { enabled: boolean; path: string | null; rows: number; sizeBytes: number; dropped: number; writeErrors: number }
/** A notice: something that happened, in plain words. */
export interface Notice {
  atMs: number;
  kind: "failover" | "circuitOpened" | "circuitClosed" | "creditsLow" | "creditsExhausted" | "sellersFileError" | "agentDrifted";
  seller: string | null; message: string;
}
/** One agent, as GET /api/agents reports it. */
export interface Agent {
  id: string; name: string; installed: boolean; location: string | null; version: string | null;
  configPath: string | null; configExists: boolean; format: string | null;
  state: "notConfigured" | "configured" | "stale" | "drifted" | "policy" | "unreadable" | "guide" | "managed";
  detail: string; model: string | null; guide: string | null;
}
/** What configure/restore did (or would do, with dryRun). */
export interface AgentChange { id: string; path: string; changed: boolean; diff: string; skipped: string[]; model: string | null; dryRun: boolean }
/** A doctor check. */
export interface Check { id: string; status: "ok" | "warn" | "fail"; message: string; fix: string }
/** The proxy switch. */
export interface ProxyState { enabled: boolean }
/** GET/PUT /api/desktop: the desktop app's switches (`present: false` in headless serve). */
export interface DesktopSettings { present: boolean; autostart: boolean | null; notifications: boolean; restoreAgentsOnQuit: boolean }

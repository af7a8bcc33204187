import { describe, expect, it } from "vitest";
import { initialState, MAX_REQUESTS, recentRate, reduce } from "../src/live.js";
import type { RequestRow, RoutingSettings, SellersResponse } from "../src/types.js";

const sellers = (ids: string[]): SellersResponse => ({
  sellers: ids.map((id) => ({ id, name: id, baseUrl: "", protocols: [], models: [], discountRatio: 1, serviceFeeRatio: 0,
    priority: 0, maxConcurrency: null, prices: {}, credits: null, keyRef: null,
    stats: { requests: 0, errors: 0, inFlight: 0, waiting: 0, outputTokens: 0, ttftLastMs: null, ttftEwmaMs: null,
      tokensPerSec: null, cooldown: null, circuit: "closed", errorRate: 0, lastError: null, probe: null } })),
  file: { path: "/x/sellers.yaml", generation: 0, error: null },
});
const routing: RoutingSettings = { mode: "fullAuto", scorer: "balanced", fixedSeller: null, fixedSet: [], fixedFailover: true, translation: true };
const row = (id: number, seller: string, atMs: number, status = 200): RequestRow => ({
  id, atMs, agent: "demo", protocol: "openai-chat", endpoint: "/v1/chat/completions", modelAsked: "m", modelSent: "m",
  stream: true, seller, status, outcome: status < 400 ? "served" : "allFailed", ttftMs: 100 + id, durationMs: 900,
  generatingMs: 800, usage: { input: 1, output: 2, cacheRead: null, cacheWrite: null }, tokensPerSec: 30, cost: null,
  attempts: [{ seller, outcome: "served", status, why: null, via: null }],
});

describe("reduce", () => {
  it("a snapshot sets everything pushed and marks the link live", () => {
    const s = reduce(initialState(), { type: "snapshot", data: { sellers: sellers(["a"]), routing, proxy: { enabled: true }, store: null } }, 0);
    expect(s.link).toBe("live");
    expect(s.sellers?.sellers).toHaveLength(1);
    expect(s.routing?.mode).toBe("fullAuto");
    expect(s.proxy).toEqual({ enabled: true });
  });
  it("a resync snapshot keeps the request log and charts", () => {
    let s = reduce(initialState(), { type: "request", data: row(1, "a", 1000) }, 1000);
    s = reduce(s, { type: "link", data: "down" }, 1000);
    s = reduce(s, { type: "snapshot", data: { sellers: sellers(["a"]), routing, proxy: null, store: null } }, 2000);
    expect(s.requests).toHaveLength(1);
    expect(s.charts.a?.points).toHaveLength(1);
    expect(s.link).toBe("live");
  });
  it("requests are newest first, unique by id, capped", () => {
    let s = initialState();
    s = reduce(s, { type: "requests", data: [row(2, "a", 2000), row(1, "a", 1000)] }, 3000);
    s = reduce(s, { type: "request", data: row(3, "b", 3000) }, 3000);
    const before = s;
    s = reduce(s, { type: "request", data: row(2, "a", 2000) }, 3000);
    expect(s).toBe(before);
    expect(s.requests.map((r) => r.id)).toEqual([3, 2, 1]);
    for (let i = 10; i < MAX_REQUESTS + 20; i++) s = reduce(s, { type: "request", data: row(i, "a", 3000) }, 3000);
    expect(s.requests).toHaveLength(MAX_REQUESTS);
    expect(s.requests[0]?.id).toBe(MAX_REQUESTS + 19);
  });
  it("a request touches only its seller's chart", () => {
    let s = reduce(initialState(), { type: "request", data: row(1, "a", 1000) }, 1000);
    s = reduce(s, { type: "request", data: row(2, "b", 1000) }, 1000);
    const a = s.charts.a;
    s = reduce(s, { type: "request", data: row(3, "b", 1100) }, 1100);
    expect(s.charts.a).toBe(a);
    expect(s.charts.b?.points.map((p) => p.ttftMs)).toEqual([102, 103]);
  });
  it("notices are newest first; agents events bump the generation", () => {
    let s = reduce(initialState(), { type: "notice", data: { atMs: 1, kind: "failover", seller: "a", message: "x" } }, 0);
    s = reduce(s, { type: "notice", data: { atMs: 2, kind: "circuitOpened", seller: "b", message: "y" } }, 0);
    expect(s.notices.map((n) => n.atMs)).toEqual([2, 1]);
    expect(reduce(s, { type: "notice", data: { atMs: 1, kind: "failover", seller: "a", message: "x" } }, 0)).toBe(s);
    s = reduce(s, { type: "agents", data: { drift: [{ id: "codex", state: "drifted" }], generation: 1 } }, 0);
    expect(s.agentsGeneration).toBe(1);
    expect(s.drift?.[0]?.id).toBe("codex");
  });
});

describe("recentRate", () => {
  it("counts the last minute and its error share", () => {
    const now = 100_000;
    const rows = [row(3, "a", now - 1000, 502), row(2, "a", now - 30_000), row(1, "a", now - 61_000)];
    expect(recentRate(rows, now)).toEqual({ perMin: 2, errorRate: 0.5 });
    expect(recentRate([], now)).toEqual({ perMin: 0, errorRate: null });
  });
});

import { shareSellers } from "../src/live.js";

describe("shareSellers", () => {
  it("keeps unchanged sellers' objects, replaces changed ones, and returns prev when nothing changed", () => {
    const a = sellers(["a", "b"]);
    const b = sellers(["a", "b"]);
    expect(shareSellers(a, b)).toBe(a);
    const c = sellers(["a", "b"]);
    c.sellers[1]!.stats.inFlight = 3;
    const shared = shareSellers(a, c);
    expect(shared).not.toBe(a);
    expect(shared.sellers[0]).toBe(a.sellers[0]);
    expect(shared.sellers[1]).toBe(c.sellers[1]);
    expect(shareSellers(a, sellers(["a"])).sellers).toHaveLength(1);
  });
  it("a sellers event with nothing new leaves the state object as it was", () => {
    const s = reduce(initialState(), { type: "sellers", data: sellers(["a"]) }, 0);
    expect(reduce(s, { type: "sellers", data: sellers(["a"]) }, 0)).toBe(s);
  });
});

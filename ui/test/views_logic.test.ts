import { describe, expect, it } from "vitest";
import { matches } from "../src/request_filter.js";
import { sellerBody } from "../src/seller_body.js";
import { usageCsv, totalTokens } from "../src/usage_csv.js";
import { failoverNotices } from "../src/notices.js";
import type { RequestRow, UsageRow } from "../src/types.js";

const row = (over: Partial<RequestRow>): RequestRow => ({
  id: 1, atMs: 0, agent: "codex", protocol: "openai-chat", endpoint: "/v1/chat/completions", modelAsked: "m", modelSent: "m",
  stream: true, seller: "b", status: 200, outcome: "served", ttftMs: 1, durationMs: 2, generatingMs: 1,
  usage: { input: 1, output: 1, cacheRead: null, cacheWrite: null }, tokensPerSec: 1, cost: null,
  attempts: [{ seller: "a", outcome: "failed", status: 502, why: "bad gateway", via: null }, { seller: "b", outcome: "served", status: 200, why: null, via: null }],
  ...over,
});
const all = { agent: "", seller: "", model: "", status: "" } as const;

describe("request filter", () => {
  it("matches by agent, model, any attempted seller and status", () => {
    const r = row({});
    expect(matches(r, all)).toBe(true);
    expect(matches(r, { ...all, agent: "opencode" })).toBe(false);
    expect(matches(r, { ...all, seller: "a" })).toBe(true);
    expect(matches(r, { ...all, model: "x" })).toBe(false);
    expect(matches(r, { ...all, status: "failover" })).toBe(true);
    expect(matches(r, { ...all, status: "error" })).toBe(false);
    expect(matches(row({ status: 503, outcome: "allFailed" }), { ...all, status: "error" })).toBe(true);
  });
});

describe("seller form body", () => {
  it("leaves blanks out, splits models, numbers numbers", () => {
    const body = sellerBody({ id: " acme ", name: "", baseUrl: "https://x/v1", apiKey: "", apiKeyEnv: "ACME_KEY", models: "a, b,,", discountRatio: "0.8", priority: "" }, ["openai-chat"], true);
    expect(body).toEqual({ id: "acme", baseUrl: "https://x/v1", protocols: ["openai-chat"], models: ["a", "b"], discountRatio: 0.8, apiKeyEnv: "ACME_KEY" });
  });
  it("a typed key wins over the env name; an edit without a key sends none (keeps the stored one)", () => {
    expect(sellerBody({ id: "a", baseUrl: "u", apiKey: "sk-1", apiKeyEnv: "E" }, [], true).apiKey).toBe("sk-1");
    expect("apiKey" in sellerBody({ id: "a", baseUrl: "u", apiKey: "" }, [], false)).toBe(false);
  });
});

describe("usage csv", () => {
  it("has a header named for the grouping and unknown cost empty", () => {
    const u: UsageRow = { key: "demo-fast", requests: 3, errors: 1, inputTokens: 10, outputTokens: 20, cacheReadTokens: 5, cacheWriteTokens: 0, cost: null, unpricedRequests: 3 };
    expect(usageCsv("seller", [u])).toBe("seller,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost,unpriced_requests\r\ndemo-fast,3,1,10,20,5,0,,3\r\n");
    expect(totalTokens(u)).toBe(35);
  });
});

describe("failover notices from the log", () => {
  it("names the sellers that failed and the one that served", () => {
    const n = failoverNotices([row({ id: 7 }), row({ id: 6, attempts: [{ seller: "b", outcome: "served", status: 200, why: null, via: null }] })], 5);
    expect(n).toHaveLength(1);
    expect(n[0]?.message).toBe("Request #7 (m): a (bad gateway) failed; served by b.");
  });
});

import { p95BySeller } from "../src/history.js";

describe("p95 from history", () => {
  it("takes each seller's highest per-minute p95 and skips minutes without one", () => {
    const pt = (seller: string, p: number | null) => ({ seller, atMs: 0, requests: 1, errors: 0, ttftMs: 1, ttftP95Ms: p, ttftSamples: 1, outputTokens: 0, tokensPerSec: null });
    expect(p95BySeller([pt("a", 120), pt("a", 300), pt("b", null), pt("c", 90)])).toEqual({ a: 300, c: 90 });
  });
});

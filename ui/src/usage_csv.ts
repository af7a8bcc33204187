// Usage rows as the CSV the Usage view exports, and their token total.

import { toCsv } from "./csv.js";
import type { UsageRow } from "./types.js";

/** All tokens of a row. */
export function totalTokens(r: UsageRow): number {
  return r.inputTokens + r.outputTokens + r.cacheReadTokens + r.cacheWriteTokens;
}

/** The CSV of the usage table (pure, for tests). */
export function usageCsv(by: string, rows: UsageRow[]): string {
  return toCsv(
    [by, "requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost", "unpriced_requests"],
    rows.map((r) => [r.key, r.requests, r.errors, r.inputTokens, r.outputTokens, r.cacheReadTokens, r.cacheWriteTokens, r.cost, r.unpricedRequests]),
  );
}

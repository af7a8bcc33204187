// Usage: tokens and cost per day, seller, model or agent over a range, as
// a bar chart and a table, with CSV export built in the browser.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { totalTokens, usageCsv } from "../usage_csv.js";
import { fmtCost, fmtCount, utcDay } from "../format.js";
import type { UsageRow } from "../types.js";
import { message, Problem } from "./bits.js";

const BYS = ["day", "seller", "model", "agent"] as const;
const RANGES = [
  { id: "today", label: "Today", days: 0 },
  { id: "7d", label: "Last 7 days", days: 6 },
  { id: "30d", label: "Last 30 days", days: 29 },
] as const;

/** The usage view. */
export function Usage() {
  const [by, setBy] = useState<(typeof BYS)[number]>("day");
  const [range, setRange] = useState<(typeof RANGES)[number]["id"]>("7d");
  const [rows, setRows] = useState<UsageRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [metric, setMetric] = useState<"tokens" | "cost" | "requests">("requests");
  useEffect(() => {
    const days = RANGES.find((r) => r.id === range)?.days ?? 6;
    const from = utcDay(Date.now() - days * 86400_000);
    void api<UsageRow[]>(`/api/usage?by=${by}&from=${from}`).then(setRows).catch((e: unknown) => setError(message(e)));
  }, [by, range]);
  const value = (r: UsageRow): number => (metric === "tokens" ? totalTokens(r) : metric === "cost" ? r.cost ?? 0 : r.requests);
  const max = Math.max(1e-9, ...(rows ?? []).map(value));
  const download = (): void => {
    if (!rows) return;
    const url = URL.createObjectURL(new Blob([usageCsv(by, rows)], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `tokenbuddy-usage-by-${by}-${range}.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <section class="usage">
      <Problem message={error} onDismiss={() => setError(null)} />
      <div class="toolbar">
        <div role="group" aria-label="Group by" class="segmented">
          {BYS.map((b) => <button key={b} type="button" aria-pressed={b === by} class={b === by ? "active" : ""} onClick={() => setBy(b)}>by {b}</button>)}
        </div>
        <div role="group" aria-label="Range" class="segmented">
          {RANGES.map((r) => <button key={r.id} type="button" aria-pressed={r.id === range} class={r.id === range ? "active" : ""} onClick={() => setRange(r.id)}>{r.label}</button>)}
        </div>
        <label>Chart{" "}
          <select value={metric} onChange={(e) => setMetric((e.target as HTMLSelectElement).value as typeof metric)}>
            <option value="requests">requests</option><option value="tokens">tokens</option><option value="cost">cost</option>
          </select>
        </label>
        <span class="spacer" />
        <button type="button" id="usage-csv" onClick={download} disabled={!rows || rows.length === 0}>Export CSV</button>
      </div>
      {rows && rows.length > 0 && (
        <div class="bars" role="img" aria-label={`${metric} by ${by}`}>
          {rows.map((r) => (
            <div key={r.key} class="bar-row">
              <span class="bar-key">{r.key}</span>
              <span class="bar-track"><span class="bar" style={{ width: `${(value(r) / max) * 100}%` }} /></span>
              <span class="num bar-value">{metric === "cost" ? fmtCost(r.cost) : fmtCount(value(r))}</span>
            </div>
          ))}
        </div>
      )}
      <div class="scroll">
        <table id="usage">
          <thead><tr><th>{by}</th><th class="num">Requests</th><th class="num">Errors</th><th class="num">Input</th><th class="num">Output</th><th class="num">Cache read</th><th class="num">Cache write</th><th class="num">Cost</th></tr></thead>
          <tbody>
            {(rows ?? []).map((r) => (
              <tr key={r.key}>
                <th scope="row">{r.key}</th>
                <td class="num">{fmtCount(r.requests)}</td>
                <td class="num">{fmtCount(r.errors)}</td>
                <td class="num">{fmtCount(r.inputTokens)}</td>
                <td class="num">{fmtCount(r.outputTokens)}</td>
                <td class="num">{fmtCount(r.cacheReadTokens)}</td>
                <td class="num">{fmtCount(r.cacheWriteTokens)}</td>
                <td class="num" title={r.unpricedRequests ? `${r.unpricedRequests} requests without a known price` : ""}>{fmtCost(r.cost)}{r.unpricedRequests > 0 && r.cost !== null ? "+" : ""}</td>
              </tr>
            ))}
            {rows?.length === 0 && <tr><td colSpan={8} class="muted">No requests in this range.</td></tr>}
            {rows === null && <tr><td colSpan={8} class="muted">Loading…</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

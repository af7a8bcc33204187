// Sellers: the live table (health, circuit, cooldown with cause and time
// left, TTFT, tokens/s, in flight, error rate, effective price, credits),
// per seller a chart of TTFT and tokens/s (15 min live from the request
// stream, 1 h / 24 h / 7 d from /api/history), and the add/edit/remove form.
// Rows are keyed and memoised: an update re-renders only the sellers whose
// numbers changed (the page must stay light with 50 sellers).

import { memo } from "preact/compat";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { SellerChart, type Columns } from "../chart.js";
import { fmtCost, fmtLeft, fmtMs, fmtPct, fmtTps } from "../format.js";
import type { LiveState } from "../live.js";
import type { HistoryPoint, Seller } from "../types.js";
import { toColumns, WINDOW_MS, type ChartWindow } from "../window.js";
import { message, useNow } from "./bits.js";
import { p95BySeller } from "../history.js";
import { SellerForm } from "./seller_form.js";

const RANGES = [
  { id: "live", label: "15 min (live)", ms: WINDOW_MS, step: null },
  { id: "1h", label: "1 h", ms: 3600_000, step: "60" },
  { id: "24h", label: "24 h", ms: 86400_000, step: "900" },
  { id: "7d", label: "7 d", ms: 7 * 86400_000, step: "3600" },
] as const;
type Range = (typeof RANGES)[number]["id"];

function health(s: Seller, now: number): { text: string; cls: string } {
  if (s.credits?.exhausted) return { text: "credits exhausted", cls: "state-bad" };
  const cd = s.stats.cooldown;
  if (cd && cd.untilMs > now) return { text: `cooling down: ${cd.cause}, ${fmtLeft(cd.untilMs, now)} left`, cls: "state-cooldown" };
  if (s.stats.circuit === "open") return { text: "circuit open", cls: "state-bad" };
  if (s.stats.circuit === "half-open") return { text: "on trial", cls: "state-cooldown" };
  if (s.stats.probe && !s.stats.probe.ok) return { text: "probe failed", cls: "state-cooldown" };
  return { text: s.stats.waiting > 0 ? `ready (${s.stats.waiting} waiting)` : "ready", cls: "state-ok" };
}

interface RowProps { s: Seller; now: number; p95: number | null }

function sameSeller(a: RowProps, b: RowProps): boolean {
  // The clock matters only while a cooldown counts down.
  const clock = a.s.stats.cooldown || b.s.stats.cooldown ? a.now === b.now : true;
  // The reducer keeps an unchanged seller's object (shareSellers), so identity is enough.
  return clock && a.p95 === b.p95 && a.s === b.s;
}

const Row = memo(function Row({ s, now, p95 }: RowProps) {
  const h = health(s, now);
  const st = s.stats;
  const price = s.discountRatio * (1 + s.serviceFeeRatio);
  return (
    <tr data-seller={s.id}>
      <th scope="row"><a href={`#chart-${s.id}`} title={s.id}>{s.name}</a></th>
      <td class={h.cls} title={st.lastError ?? ""}>{h.text}</td>
      <td>{st.circuit}</td>
      <td class="num">{fmtMs(st.ttftLastMs)}</td>
      <td class="num">{fmtMs(st.ttftEwmaMs)}</td>
      <td class="num" title="highest per-minute p95 over the last 15 minutes">{fmtMs(p95)}</td>
      <td class="num">{fmtTps(st.tokensPerSec)}</td>
      <td class="num">{st.inFlight} / {s.maxConcurrency ?? "∞"}</td>
      <td class="num">{fmtPct(st.errorRate)}</td>
      <td class="num" title="discount × (1 + fee) on list price">×{price.toFixed(2)}</td>
      <td class="num">{s.credits ? <span class={s.credits.low ? "state-cooldown" : ""}>{fmtCost(s.credits.remaining)}</span> : "—"}</td>
    </tr>
  );
}, sameSeller);

const Detail = memo(function Detail({ s, window, onEdit }: { s: Seller; window: ChartWindow | undefined; onEdit: (s: Seller) => void }) {
  const [range, setRange] = useState<Range>("live");
  const [history, setHistory] = useState<Columns | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (range === "live") return;
    const r = RANGES.find((x) => x.id === range);
    if (!r) return;
    setHistory(null);
    void api<HistoryPoint[]>(`/api/history?seller=${encodeURIComponent(s.id)}&from=${Date.now() - r.ms}&step=${r.step}`)
      .then((pts) => setHistory(toColumns(pts.map((p) => ({ atMs: p.atMs, ttftMs: p.ttftMs, tokensPerSec: p.tokensPerSec })))))
      .catch((e: unknown) => setError(message(e)));
  }, [range, s.id]);
  const live = useMemo(() => toColumns(window?.points ?? []), [window]);
  const data = range === "live" ? live : history;
  const r = RANGES.find((x) => x.id === range);
  return (
    <div class="seller-detail card" data-detail={s.id} id={`chart-${s.id}`}>
      <div class="toolbar">
        <div role="group" aria-label="Chart range" class="segmented">
          {RANGES.map((x) => (
            <button key={x.id} type="button" aria-pressed={x.id === range} class={x.id === range ? "active" : ""} onClick={() => setRange(x.id)}>{x.label}</button>
          ))}
        </div>
        <span class="spacer" />
        <button type="button" onClick={() => onEdit(s)} aria-label={`Edit ${s.name}`}>Edit</button>
      </div>
      {error && <p class="state-bad">{error}</p>}
      {data ? <SellerChart data={data} title={`${s.name}: TTFT and tokens/s, ${r?.label ?? ""}`} windowSec={range === "live" ? WINDOW_MS / 1000 : null} /> : <div class="chart placeholder muted">Loading history…</div>}
      <p class="muted small">{s.baseUrl} · {s.protocols.join(", ")} · {s.models.length ? s.models.join(", ") : "any model"}{data && data[0].length === 0 ? " · no requests in this range yet" : ""}</p>
    </div>
  );
}, (a, b) => a.window === b.window && a.s.id === b.s.id && a.s.name === b.s.name && a.s.baseUrl === b.s.baseUrl);

/** The sellers view. */
export function Sellers({ state }: { state: LiveState }) {
  const now = useNow(1000);
  const [editing, setEditing] = useState<Seller | "new" | null>(null);
  const [p95, setP95] = useState<Record<string, number>>({});
  const fetched = useRef(0);
  const newest = state.requests[0]?.id ?? 0;
  useEffect(() => {
    // p95 comes from the store's minute history: refreshed as requests
    // arrive, at most every 15 s, and never while nothing happens.
    if (fetched.current !== 0 && Date.now() - fetched.current < 15_000) return;
    fetched.current = Date.now();
    void api<HistoryPoint[]>(`/api/history?from=${Date.now() - WINDOW_MS}&step=900`).then((pts) => setP95(p95BySeller(pts))).catch(() => undefined);
  }, [newest]);
  const data = state.sellers;
  if (!data) return <p class="muted">Loading sellers…</p>;
  return (
    <section class="sellers">
      {data.file.error && <p class="notice bad" role="alert">The sellers file has an error; the last good version keeps serving: {data.file.error}</p>}
      <div class="toolbar">
        <span class="muted">Sellers file: <code>{data.file.path}</code> (reload #{data.file.generation})</span>
        <span class="spacer" />
        <button type="button" id="add-seller" onClick={() => setEditing("new")}>Add seller</button>
      </div>
      {editing && <SellerForm seller={editing === "new" ? null : editing} onDone={() => setEditing(null)} />}
      <div class="scroll">
        <table id="sellers">
          <thead>
            <tr>
              <th>Seller</th><th>Health</th><th>Circuit</th><th class="num">TTFT last</th><th class="num">TTFT avg</th><th class="num">TTFT p95 (15 min)</th>
              <th class="num">Tokens/s (10 min)</th><th class="num">In flight / max</th><th class="num">Errors</th><th class="num">Price</th><th class="num">Credits left</th>
            </tr>
          </thead>
          <tbody>
            {data.sellers.map((s) => <Row key={s.id} s={s} now={now} p95={p95[s.id] ?? null} />)}
            {data.sellers.length === 0 && <tr><td colSpan={11} class="muted">No sellers yet: add one, or start with <code>--demo</code>.</td></tr>}
          </tbody>
        </table>
      </div>
      <div class="charts">
        {data.sellers.map((s) => <Detail key={s.id} s={s} window={state.charts[s.id]} onEdit={setEditing} />)}
      </div>
    </section>
  );
}

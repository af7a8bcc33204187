// Requests: the live log, newest first, filtered by agent, seller, model
// and status; each row expands to its attempt trail. Rows are keyed and
// memoised (a row never changes once committed).

import { memo } from "preact/compat";
import { useMemo, useState } from "preact/hooks";
import { fmtCost, fmtMs, fmtTps } from "../format.js";
import type { Attempt, RequestRow } from "../types.js";
import { matches, type RequestFilter } from "../request_filter.js";

const SHOWN = 200;

/** One attempt in plain words, without saying the status twice. */
function attemptText(a: Attempt): string {
  const what = a.outcome === "served" ? "served" : a.outcome === "status" ? "answered with an error" : a.outcome;
  const status = a.status !== null ? ` (HTTP ${a.status})` : "";
  const why = a.why && a.why !== `HTTP ${a.status}` ? ` — ${a.why}` : "";
  const via = a.via ? ` via translation ${a.via}` : "";
  return `${what}${via}${status}${why}`;
}

const Row = memo(function Row({ r, open, onToggle }: { r: RequestRow; open: boolean; onToggle: (id: number) => void }) {
  const ok = r.status < 400 && r.outcome === "served";
  const time = new Date(r.atMs).toLocaleTimeString();
  return (
    <>
      <tr data-request={r.id} class={ok ? "" : "row-bad"}>
        <td><button type="button" class="link-button" aria-expanded={open} onClick={() => onToggle(r.id)} aria-label={`Attempts of request ${r.id}`}>{open ? "▾" : "▸"} {r.id}</button></td>
        <td class="num">{time}</td>
        <td>{r.agent}</td>
        <td>{r.modelAsked}</td>
        <td>{r.seller ?? "—"}{r.attempts.some((a) => a.via) ? <span class="badge" title={`via translation ${r.attempts.find((a) => a.via)?.via ?? ""}`}> ⇄</span> : null}{r.attempts.length > 1 ? <span class="badge warn" title="failed over"> ×{r.attempts.length}</span> : null}</td>
        <td class={`num ${ok ? "state-ok" : "state-bad"}`}>{r.status}</td>
        <td class="num">{fmtMs(r.ttftMs)}</td>
        <td class="num">{fmtMs(r.durationMs)}</td>
        <td class="num">{fmtTps(r.tokensPerSec)}</td>
        <td class="num">{fmtCost(r.cost)}</td>
      </tr>
      {open && (
        <tr class="trail" data-trail={r.id}>
          <td colSpan={10}>
            <ol class="attempts">
              {r.attempts.map((a, i) => (
                <li key={i} class={a.outcome === "served" ? "state-ok" : "state-bad"}>
                  <strong>{a.seller}</strong>: {attemptText(a)}
                </li>
              ))}
            </ol>
            <p class="muted small">{r.protocol} {r.endpoint}{r.stream ? " · stream" : ""} · sent as {r.modelSent ?? "—"} · tokens in {r.usage.input ?? "?"} / out {r.usage.output ?? "?"}</p>
          </td>
        </tr>
      )}
    </>
  );
});

/** The request log view. */
export function Requests({ requests }: { requests: RequestRow[] }) {
  const [f, setF] = useState<RequestFilter>({ agent: "", seller: "", model: "", status: "" });
  const [open, setOpen] = useState<Set<number>>(new Set());
  const toggle = useMemo(() => (id: number) => setOpen((cur) => {
    const next = new Set(cur);
    if (!next.delete(id)) next.add(id);
    return next;
  }), []);
  const options = useMemo(() => {
    const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();
    return { agent: uniq(requests.map((r) => r.agent)), seller: uniq(requests.flatMap((r) => r.attempts.map((a) => a.seller))), model: uniq(requests.map((r) => r.modelAsked)) };
  }, [requests]);
  const shown = requests.filter((r) => matches(r, f)).slice(0, SHOWN);
  const pick = (k: "agent" | "seller" | "model", label: string) => (
    <label>{label}{" "}
      <select name={k} value={f[k]} onChange={(e) => setF({ ...f, [k]: (e.target as HTMLSelectElement).value })}>
        <option value="">all</option>
        {options[k].map((x) => <option key={x} value={x}>{x}</option>)}
      </select>
    </label>
  );
  return (
    <section class="requests">
      <div class="toolbar filters">
        {pick("agent", "Agent")}
        {pick("seller", "Seller")}
        {pick("model", "Model")}
        <label>Status{" "}
          <select name="status" value={f.status} onChange={(e) => setF({ ...f, status: (e.target as HTMLSelectElement).value as RequestFilter["status"] })}>
            <option value="">all</option><option value="ok">served</option><option value="error">failed</option><option value="failover">failed over</option>
          </select>
        </label>
        <span class="spacer" />
        <span class="muted num">{shown.length} of {requests.length} kept</span>
      </div>
      <div class="scroll">
        <table id="requests">
          <thead><tr><th>#</th><th class="num">Time</th><th>Agent</th><th>Model</th><th>Seller</th><th class="num">Status</th><th class="num">TTFT</th><th class="num">Duration</th><th class="num">Tokens/s</th><th class="num">Cost</th></tr></thead>
          <tbody>
            {shown.map((r) => <Row key={r.id} r={r} open={open.has(r.id)} onToggle={toggle} />)}
            {shown.length === 0 && <tr><td colSpan={10} class="muted">{requests.length === 0 ? "No requests yet: point an agent at TokenBuddy, or start with --demo." : "No request matches these filters."}</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

// Overview: the switch, how routing is set, the last minute's traffic,
// today's tokens and cost, seller health, who serves now and what happened
// lately in plain words. No sellers yet: how to add one or start the demo.

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtCost, fmtCount, fmtPct, fmtRelative, utcDay } from "../format.js";
import { recentRate, type LiveEvent, type LiveState } from "../live.js";
import type { UsageRow } from "../types.js";
import { failoverNotices } from "../notices.js";
import { Figure, useNow } from "./bits.js";
import { DesktopSwitches } from "./desktop_settings.js";
import { ProxySwitch } from "./proxy_switch.js";

const MODE_TEXT = { fixed: "one fixed seller", fixedSet: "a fixed set", fullAuto: "fully automatic" } as const;

/** The overview view. */
export function Overview({ state, dispatch, go }: { state: LiveState; dispatch: (e: LiveEvent) => void; go: (view: string) => void }) {
  const now = useNow(5000);
  const [today, setToday] = useState<UsageRow | null>(null);
  const last = useRef(0);
  const newest = state.requests[0]?.id ?? 0;
  useEffect(() => {
    // At most every 5 s, however fast requests arrive.
    if (Date.now() - last.current < 5000 && last.current !== 0) return;
    last.current = Date.now();
    const day = utcDay(Date.now());
    void api<UsageRow[]>(`/api/usage?by=day&from=${day}`)
      .then((rows) => setToday(rows.find((r) => r.key === day) ?? null))
      .catch(() => setToday(null));
  }, [newest]);

  const sellers = state.sellers?.sellers ?? null;
  if (sellers && sellers.length === 0) {
    return (
      <section class="first-run" id="first-run">
        <h2>No sellers yet</h2>
        <p>TokenBuddy routes each request to a <em>seller</em>: an upstream API you have a key for.</p>
        <ol>
          <li><button type="button" onClick={() => go("Sellers")}>Add a seller</button> in the Sellers view (the key is kept outside the file: in your OS keychain, or a private file in the data directory), or edit <code>{state.sellers?.file.path}</code>.</li>
          <li>Or try it without a key: restart with <code>tokenbuddy serve --demo</code>, which starts three simulated sellers.</li>
        </ol>
      </section>
    );
  }
  const healthy = (sellers ?? []).filter((s) => !s.stats.cooldown && s.stats.circuit !== "open" && !s.credits?.exhausted).length;
  const busiest = [...(sellers ?? [])].sort((a, b) => b.stats.inFlight - a.stats.inFlight)[0];
  const serving = busiest && busiest.stats.inFlight > 0 ? busiest.id : state.requests[0]?.seller ?? null;
  const { perMin, errorRate } = recentRate(state.requests, now);
  const notices = state.notices.length > 0 ? state.notices.slice(0, 8) : failoverNotices(state.requests, 8);
  const r = state.routing;
  const tokens = today ? today.inputTokens + today.outputTokens + today.cacheReadTokens + today.cacheWriteTokens : null;

  return (
    <section class="overview">
      {state.sellers?.file.error && (
        <p class="notice bad" role="alert">The sellers file has an error; the last good version keeps serving: {state.sellers.file.error}</p>
      )}
      <div class="figures">
        {state.proxy ? (
          <Figure id="fig-proxy" label="Proxy" value={<ProxySwitch proxy={state.proxy} dispatch={dispatch} />} />
        ) : (
          <Figure id="fig-proxy" label="Proxy" value="on" hint="pausing needs a newer core (no /api/proxy)" />
        )}
        <Figure id="fig-routing" label="Routing" value={r ? `${r.scorer}` : "—"}
          hint={r ? <>{MODE_TEXT[r.mode]}{r.mode === "fixed" && r.fixedSeller ? `: ${r.fixedSeller}` : ""} · <button type="button" class="link-button" onClick={() => go("Routing")}>change</button></> : "loading"} />
        <Figure id="fig-rate" label="Requests / min" value={fmtCount(perMin)} hint={`errors ${fmtPct(errorRate)}`} />
        <Figure id="fig-today" label="Today (UTC)" value={`${fmtCount(tokens)} tok`}
          hint={today ? `cost ${fmtCost(today.cost)}${today.unpricedRequests > 0 ? ` · ${today.unpricedRequests} unpriced` : ""}` : "no requests yet"} />
        <Figure id="fig-health" label="Healthy sellers" value={sellers ? `${healthy} / ${sellers.length}` : "—"} />
        <Figure id="fig-serving" label="Serving now" value={serving ?? "—"} />
      </div>
      <h2>Lately</h2>
      {notices.length === 0 ? (
        <p class="muted">Nothing noteworthy: no failovers, circuits or credit warnings.</p>
      ) : (
        <ul class="plain notices" id="notices">
          {notices.map((n) => (
            <li key={`${n.atMs}-${n.kind}-${n.message}`} class={`notice-${n.kind}`}>
              <span class="muted when">{fmtRelative(n.atMs, now)}</span> {n.message}
            </li>
          ))}
        </ul>
      )}
      <DesktopSwitches />
    </section>
  );
}

// The panel's frame: header (link state, proxy switch), the view tabs
// (real buttons in a tablist; arrow keys move between them) and the view.

import { useCallback, useEffect, useReducer, useState } from "preact/hooks";
import { startFeed } from "./feed.js";
import { initialState, reduce, type LiveEvent, type LiveState } from "./live.js";
import { Overview } from "./views/overview.js";
import { Routing } from "./views/routing.js";
import { Sellers } from "./views/sellers.js";
import { Agents } from "./views/agents.js";
import { Requests } from "./views/requests.js";
import { Usage } from "./views/usage.js";
import { ProxySwitch } from "./views/proxy_switch.js";

const VIEWS = ["Overview", "Routing", "Sellers", "Agents", "Requests", "Usage"] as const;
type View = (typeof VIEWS)[number];

const LINK_TEXT: Record<LiveState["link"], string> = {
  connecting: "connecting…",
  live: "live",
  polling: "live (polling: this core has no /api/events)",
  down: "TokenBuddy is not answering; retrying…",
  denied: "the access token was refused",
};

function reducer(s: LiveState, e: LiveEvent): LiveState {
  return reduce(s, e, Date.now());
}

/** The whole panel. */
export function App({ token }: { token: string | null }) {
  const [state, dispatch] = useReducer(reducer, undefined, initialState);
  const [view, setView] = useState<View>(() => {
    const v = new URLSearchParams(location.search).get("view");
    return (VIEWS as readonly string[]).includes(v ?? "") ? (v as View) : "Overview";
  });

  useEffect(() => (token ? startFeed(token, dispatch) : undefined), [token]);

  const onTabKey = useCallback((e: KeyboardEvent) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    const i = VIEWS.indexOf(view);
    const next = VIEWS[(i + (e.key === "ArrowRight" ? 1 : VIEWS.length - 1)) % VIEWS.length] ?? "Overview";
    setView(next);
    document.getElementById(`tab-${next}`)?.focus();
  }, [view]);

  if (!token) {
    return (
      <main class="page">
        <h1>TokenBuddy</h1>
        <p class="notice bad">No access token: open the panel from the tray, with <code>tokenbuddy open</code>, or from the URL <code>tokenbuddy serve</code> prints (it ends in <code>#token=…</code>).</p>
      </main>
    );
  }

  return (
    <div class="frame">
      <header class="top">
        <h1>TokenBuddy</h1>
        <span class={`link link-${state.link}`} role="status" aria-live="polite">{LINK_TEXT[state.link]}</span>
        <span class="spacer" />
        <ProxySwitch proxy={state.proxy} dispatch={dispatch} compact />
      </header>
      {state.link === "denied" && (
        <p class="notice bad banner" role="alert">TokenBuddy refused this page's access token (a new install, or another data dir). Open the panel again from the tray, with <code>tokenbuddy open</code>, or from the URL <code>tokenbuddy serve</code> prints.</p>
      )}
      <nav class="tabs" role="tablist" aria-label="Views" onKeyDown={onTabKey}>
        {VIEWS.map((v) => (
          <button key={v} id={`tab-${v}`} type="button" role="tab" aria-selected={v === view} aria-controls="view"
            tabIndex={v === view ? 0 : -1} class={v === view ? "tab active" : "tab"} onClick={() => setView(v)}>{v}</button>
        ))}
      </nav>
      <main class="page"><div id="view" role="tabpanel" aria-labelledby={`tab-${view}`}>
        {view === "Overview" && <Overview state={state} dispatch={dispatch} go={(v: string) => setView(v as View)} />}
        {view === "Routing" && <Routing state={state} dispatch={dispatch} />}
        {view === "Sellers" && <Sellers state={state} />}
        {view === "Agents" && <Agents generation={state.agentsGeneration} sellers={state.sellers} />}
        {view === "Requests" && <Requests requests={state.requests} />}
        {view === "Usage" && <Usage />}
      </div></main>
    </div>
  );
}

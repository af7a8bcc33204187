// Where live data comes from: one /api/events stream (snapshot on every
// (re)connect, then deltas). A core without /api/events yet gets the
// fallback: /api/sellers polled every 2 s while the page is visible, and
// the request log from /api/requests/live. Either way the reducer sees the
// same events.

import { api, ApiError, apiOptional } from "./api.js";
import type { LiveEvent } from "./live.js";
import { connect } from "./sse.js";
import type { Notice, ProxyState, RequestPage, RequestRow, RoutingSettings, SellersResponse, StoreStatus } from "./types.js";

const POLL_MS = 2000;
/** Request rows arriving together are applied together, at most this often (100 requests/s must not mean 100 renders/s). */
const REQUEST_BATCH_MS = 250;

/** Starts the feed; returns a function that stops it. */
export function startFeed(token: string, dispatch: (e: LiveEvent) => void): () => void {
  const stops: (() => void)[] = [];

  const backfill = async (): Promise<void> => {
    const page = await api<RequestPage>("/api/requests?limit=200").catch(() => null);
    if (page) dispatch({ type: "requests", data: page.requests });
    const notices = await apiOptional<Notice[]>("/api/notices?limit=50").catch(() => null);
    if (notices) dispatch({ type: "notices", data: notices });
  };

  let batch: RequestRow[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | null = null;
  const flush = (): void => {
    flushTimer = null;
    const rows = batch;
    batch = [];
    if (rows.length > 0) dispatch({ type: "requests", data: rows });
  };
  stops.push(() => {
    if (flushTimer) clearTimeout(flushTimer);
  });

  const handle = (name: string, data: string): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (name === "request" || name === "requests") {
      // The core batches rows (`requests`, an array); one row is also taken.
      if (Array.isArray(parsed)) batch.push(...(parsed as RequestRow[]));
      else batch.push(parsed as RequestRow);
      flushTimer ??= setTimeout(flush, REQUEST_BATCH_MS);
      return;
    }
    const known = ["snapshot", "sellers", "routing", "proxy", "agents", "notice"];
    if (known.includes(name)) dispatch({ type: name, data: parsed } as LiveEvent);
  };

  const fallback = (): void => {
    dispatch({ type: "link", data: "polling" });
    const poll = async (): Promise<void> => {
      if (document.visibilityState !== "visible") return;
      try {
        dispatch({ type: "sellers", data: await api<SellersResponse>("/api/sellers") });
        dispatch({ type: "link", data: "polling" });
      } catch (e) {
        dispatch({ type: "link", data: e instanceof ApiError && e.status === 401 ? "denied" : "down" });
      }
    };
    void (async () => {
      const [routing, proxy, store] = await Promise.all([
        api<RoutingSettings>("/api/routing").catch(() => null),
        apiOptional<ProxyState>("/api/proxy").catch(() => null),
        api<StoreStatus>("/api/store").catch(() => null),
      ]);
      if (routing) dispatch({ type: "routing", data: routing });
      if (proxy) dispatch({ type: "proxy", data: proxy });
      if (store) dispatch({ type: "store", data: store });
      await poll();
    })();
    const timer = setInterval(() => void poll(), POLL_MS);
    const onVisible = (): void => void poll();
    document.addEventListener("visibilitychange", onVisible);
    stops.push(() => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    });
    const live = connect("/api/requests/live", token, {
      onOpen: () => void backfill(),
      onEvent: (e) => handle(e.event, e.data),
      onDown: () => undefined,
    });
    stops.push(() => live.stop());
  };

  const events = connect("/api/events", token, {
    onOpen: () => void backfill(),
    onEvent: (e) => handle(e.event, e.data),
    onDown: (status) => {
      if (status === 404) fallback();
      else dispatch({ type: "link", data: status === 401 ? "denied" : "down" });
    },
  });
  stops.push(() => events.stop());
  return () => stops.forEach((s) => s());
}

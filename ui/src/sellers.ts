// The sellers table: live statistics from GET /api/sellers.

import { el } from "./api.js";

interface Cooldown { cause: string; untilMs: number }
interface Stats {
  requests: number; errors: number; inFlight: number; waiting: number; outputTokens: number;
  circuit: "closed" | "open" | "half-open"; errorRate: number;
  ttftLastMs: number | null; ttftEwmaMs: number | null; tokensPerSec: number | null;
  cooldown: Cooldown | null; lastError: string | null;
}
interface Seller { id: string; name: string; protocols: string[]; models: string[]; stats: Stats }
/** GET /api/sellers. */
export interface SellersResponse { sellers: Seller[]; file: { path: string; generation: number; error: string | null } }

function fmt(v: number | null, digits: number, unit: string): string {
  return v === null ? "—" : `${v.toFixed(digits)}${unit}`;
}

/** Fills the sellers table; returns the sellers file's error, if any. */
export function renderSellers(data: SellersResponse): string | null {
  const body = document.querySelector("#sellers tbody");
  if (!body) return null;
  body.replaceChildren(
    ...data.sellers.map((s) => {
      const tr = el("tr");
      const name = el("td", s.name);
      name.title = s.id;
      const cd = s.stats.cooldown;
      const state = cd
        ? el("td", `out: ${cd.cause} (until ${new Date(cd.untilMs).toLocaleTimeString()})`, "state-cooldown")
        : s.stats.circuit === "half-open"
          ? el("td", "on trial", "state-cooldown")
          : el("td", s.stats.waiting > 0 ? `ready (${s.stats.waiting} waiting)` : "ready", "state-ok");
      tr.append(
        name,
        el("td", s.protocols.join(", "), "wrap"),
        el("td", fmt(s.stats.ttftLastMs, 0, " ms"), "num"),
        el("td", fmt(s.stats.ttftEwmaMs, 0, " ms"), "num"),
        el("td", fmt(s.stats.tokensPerSec, 1, ""), "num"),
        el("td", String(s.stats.requests), "num"),
        el("td", String(s.stats.errors), "num"),
        el("td", String(s.stats.inFlight), "num"),
        state,
      );
      return tr;
    }),
  );
  if (data.sellers.length === 0) {
    const tr = el("tr");
    const td = el("td", `No sellers yet: add some to ${data.file.path}, or start with --demo.`, "muted");
    td.colSpan = 9;
    tr.append(td);
    body.append(tr);
  }
  const file = document.getElementById("file");
  if (file) file.textContent = `Sellers file: ${data.file.path} (reload #${data.file.generation})`;
  const models = document.getElementById("seller-models");
  if (models) {
    const names = [...new Set(data.sellers.flatMap((s) => s.models))].sort();
    models.replaceChildren(...names.map((m) => Object.assign(el("option"), { value: m })));
  }
  return data.file.error;
}

// The control panel: live sellers from GET /api/sellers. The access token
// arrives in the URL fragment (never sent to a server) and is kept for the tab.

interface Cooldown { cause: string; until_ms: number }
interface Stats {
  requests: number; errors: number; in_flight: number; waiting: number; output_tokens: number;
  circuit: "closed" | "open" | "half-open"; error_rate: number;
  ttft_last_ms: number | null; ttft_ewma_ms: number | null; tokens_per_sec: number | null;
  cooldown: Cooldown | null; last_error: string | null;
}
interface Seller { id: string; name: string; protocols: string[]; models: string[]; stats: Stats }
interface SellersResponse { sellers: Seller[]; file: { path: string; generation: number; error: string | null } }

const TOKEN_KEY = "tokenbuddy.token";
const REFRESH_MS = 2000;

function token(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", className = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

function fmt(v: number | null, digits: number, unit: string): string {
  return v === null ? "—" : `${v.toFixed(digits)}${unit}`;
}

function notice(message: string | null, bad = false): void {
  const n = document.getElementById("notice");
  if (!n) return;
  n.hidden = message === null;
  n.textContent = message ?? "";
  n.className = bad ? "notice bad" : "notice";
}

function render(data: SellersResponse): void {
  const body = document.querySelector("#sellers tbody");
  if (!body) return;
  body.replaceChildren(
    ...data.sellers.map((s) => {
      const tr = el("tr");
      const name = el("td", s.name);
      name.title = s.id;
      const cd = s.stats.cooldown;
      const state = cd
        ? el("td", `out: ${cd.cause} (until ${new Date(cd.until_ms).toLocaleTimeString()})`, "state-cooldown")
        : s.stats.circuit === "half-open"
          ? el("td", "on trial", "state-cooldown")
          : el("td", s.stats.waiting > 0 ? `ready (${s.stats.waiting} waiting)` : "ready", "state-ok");
      tr.append(
        name,
        el("td", s.protocols.join(", "), "wrap"),
        el("td", fmt(s.stats.ttft_last_ms, 0, " ms"), "num"),
        el("td", fmt(s.stats.ttft_ewma_ms, 0, " ms"), "num"),
        el("td", fmt(s.stats.tokens_per_sec, 1, ""), "num"),
        el("td", String(s.stats.requests), "num"),
        el("td", String(s.stats.errors), "num"),
        el("td", String(s.stats.in_flight), "num"),
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
  notice(data.file.error ? `The sellers file has an error; the last good version keeps serving: ${data.file.error}` : null, true);
}

async function refresh(t: string): Promise<void> {
  const status = document.getElementById("status");
  try {
    const resp = await fetch("/api/sellers", { headers: { Authorization: `Bearer ${t}` } });
    if (resp.status === 401) {
      notice("The access token is missing or wrong. Open the panel from the tray or from the URL `tokenbuddy serve` prints.", true);
      return;
    }
    if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
    render((await resp.json()) as SellersResponse);
    if (status) status.textContent = `live · ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if (status) status.textContent = `TokenBuddy is not answering (${String(e)})`;
  }
}

const t = token();
if (t === null) {
  notice("No access token: open the panel from the tray or from the URL `tokenbuddy serve` prints (it ends in #token=…).", true);
} else {
  void refresh(t);
  setInterval(() => void refresh(t), REFRESH_MS);
}

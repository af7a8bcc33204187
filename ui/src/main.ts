// The control panel: live sellers, the agents (one-click configure and
// restore), terminals and the doctor's checks. The access token arrives in
// the URL fragment (never sent to a server) and is kept for the tab.

import { api, token } from "./api.js";
import { loadTerminals, refreshAgents, runDoctor } from "./agents.js";
import { renderSellers, type SellersResponse } from "./sellers.js";

const SELLERS_MS = 2000;
const AGENTS_MS = 5000;

function notice(message: string | null, bad = false): void {
  const n = document.getElementById("notice");
  if (!n) return;
  n.hidden = message === null;
  n.textContent = message ?? "";
  n.className = bad ? "notice bad" : "notice";
}

async function refresh(t: string): Promise<void> {
  const status = document.getElementById("status");
  try {
    const error = renderSellers(await api<SellersResponse>(t, "/api/sellers"));
    notice(error ? `The sellers file has an error; the last good version keeps serving: ${error}` : null, true);
    if (status) status.textContent = `live · ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    if ((e as { status?: number }).status === 401) {
      notice("The access token is missing or wrong. Open the panel from the tray or from the URL `tokenbuddy serve` prints.", true);
      return;
    }
    if (status) status.textContent = `TokenBuddy is not answering (${String(e)})`;
  }
}

const t = token();
if (t === null) {
  notice("No access token: open the panel from the tray or from the URL `tokenbuddy serve` prints (it ends in #token=…).", true);
} else {
  void refresh(t);
  setInterval(() => void refresh(t), SELLERS_MS);
  const agents = (): void => void refreshAgents(t).catch((e: unknown) => notice(`Agents: ${String(e)}`, true));
  agents();
  setInterval(agents, AGENTS_MS);
  void loadTerminals(t).catch(() => undefined);
  document.getElementById("run-doctor")?.addEventListener("click", () => void runDoctor(t).catch((e: unknown) => notice(`Doctor: ${String(e)}`, true)));
}

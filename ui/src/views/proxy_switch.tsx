// The proxy's on/off switch (PUT /api/proxy). A core without the endpoint
// yet shows why the switch is missing instead of a dead control.

import { useState } from "preact/hooks";
import { api } from "../api.js";
import type { LiveEvent } from "../live.js";
import type { ProxyState } from "../types.js";
import { message } from "./bits.js";

/** The switch; `compact` is the header's version. */
export function ProxySwitch({ proxy, dispatch, compact = false }: { proxy: ProxyState | null; dispatch: (e: LiveEvent) => void; compact?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!proxy) {
    return compact ? null : <p class="muted" id="proxy-missing">Pausing needs a newer TokenBuddy (this core has no <code>/api/proxy</code>).</p>;
  }
  const flip = async (): Promise<void> => {
    setBusy(true);
    try {
      dispatch({ type: "proxy", data: await api<ProxyState>("/api/proxy", "PUT", { enabled: !proxy.enabled }) });
      setError(null);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class={compact ? "proxy-switch compact" : "proxy-switch"}>
      <button type="button" role="switch" aria-checked={proxy.enabled} class={proxy.enabled ? "switch on" : "switch off"}
        disabled={busy} onClick={() => void flip()}>
        <span class="knob" aria-hidden="true" />
        {proxy.enabled ? "Routing requests" : "Paused"}
      </button>
      {error && <span class="state-bad" role="alert"> {error}</span>}
    </span>
  );
}

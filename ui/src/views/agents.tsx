// Agents: what is installed and where each stands; Configure and Restore
// show the diff first (dryRun) and apply on confirm; guides for agents set
// up by hand; the terminals and the doctor. The list is refetched when the
// drift watch reports a change (an `agents` event) or after an action —
// never on a timer. Errors stay until dismissed.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import type { Agent, AgentChange, Check, SellersResponse, Terminal } from "../types.js";
import { message, Problem } from "./bits.js";

const STATE_TEXT: Record<Agent["state"], string> = {
  notConfigured: "not configured", configured: "configured", stale: "stale", drifted: "drifted",
  policy: "managed by policy", unreadable: "unreadable", guide: "set up by hand",
};
const STATE_CLASS: Record<Agent["state"], string> = {
  notConfigured: "muted", configured: "state-ok", stale: "state-cooldown", drifted: "state-cooldown",
  policy: "state-bad", unreadable: "state-bad", guide: "muted",
};

interface Pending { agent: Agent; what: "configure" | "restore"; model: string | undefined; change: AgentChange }

// The last list and terminals seen, so a revisit shows them at once (no jump) while they refresh.
let cachedAgents: Agent[] | null = null;
let cachedTerminals: Terminal[] | null = null;

/** The agents view; `generation` changes when the drift watch reports something. */
export function Agents({ generation, sellers }: { generation: number; sellers: SellersResponse | null }) {
  const [agents, setAgentsState] = useState<Agent[] | null>(cachedAgents);
  const setAgents = (a: Agent[]): void => setAgentsState((cachedAgents = a));
  const [models, setModels] = useState<Record<string, string>>({});
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [terminals, setTerminalsState] = useState<Terminal[] | null>(cachedTerminals);
  const setTerminals = (t: Terminal[]): void => setTerminalsState((cachedTerminals = t));
  const [checks, setChecks] = useState<Check[] | null>(null);

  const reload = (): void => void api<Agent[]>("/api/agents").then(setAgents).catch((e: unknown) => setError(`Agents: ${message(e)}`));
  useEffect(reload, [generation]);
  useEffect(() => void api<Terminal[]>("/api/terminals").then(setTerminals).catch(() => setTerminals([])), []);

  const names = [...new Set((sellers?.sellers ?? []).flatMap((s) => s.models))].sort();

  const preview = async (agent: Agent, what: "configure" | "restore"): Promise<void> => {
    setBusy(true);
    setDone(null);
    const model = models[agent.id]?.trim() || undefined;
    try {
      const body = what === "configure" ? { model, dryRun: true } : { dryRun: true };
      const change = await api<AgentChange>(`/api/agents/${encodeURIComponent(agent.id)}/${what}`, "POST", body);
      if (change.changed) setPending({ agent, what, model, change });
      else setDone(`${agent.name}: ${change.path} already says that; nothing to change.`);
    } catch (e) {
      setError(`${agent.name}: ${message(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const apply = async (p: Pending): Promise<void> => {
    setBusy(true);
    try {
      const body = p.what === "configure" ? { model: p.model } : {};
      const change = await api<AgentChange>(`/api/agents/${encodeURIComponent(p.agent.id)}/${p.what}`, "POST", body);
      setPending(null);
      setDone(`${p.agent.name}: ${change.changed ? `updated ${change.path}` : "nothing to change"}.${change.skipped.length ? ` Left alone (you changed them since): ${change.skipped.join(", ")}.` : ""}`);
      reload();
    } catch (e) {
      setError(`${p.agent.name}: ${message(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const doctor = (): void => {
    setChecks(null);
    void api<{ ok: boolean; checks: Check[] }>("/api/doctor").then((r) => setChecks(r.checks)).catch((e: unknown) => setError(`Doctor: ${message(e)}`));
  };

  return (
    <section class="agents">
      <Problem message={error} onDismiss={() => setError(null)} />
      {done && <p class="notice" role="status" id="agent-done">{done} <button type="button" class="dismiss" onClick={() => setDone(null)}>Dismiss</button></p>}
      {pending && (
        <div class="card diff-confirm" id="agent-diff" role="region" aria-label="Change to confirm">
          <h3>{pending.what === "configure" ? "Configure" : "Restore"} {pending.agent.name}: this is the change to <code>{pending.change.path}</code></h3>
          <pre class="diff">{pending.change.diff.split("\n").map((line, i) => (
            <span key={i} class={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : ""}>{line}{"\n"}</span>
          ))}</pre>
          {pending.change.skipped.length > 0 && <p class="muted">Left alone (you changed them since): {pending.change.skipped.join(", ")}</p>}
          <div class="actions">
            <button type="button" class="primary" disabled={busy} onClick={() => void apply(pending)}>Apply</button>
            <button type="button" onClick={() => setPending(null)}>Cancel</button>
          </div>
        </div>
      )}
      <datalist id="seller-models">{names.map((m) => <option key={m} value={m} />)}</datalist>
      <div class="scroll">
        <table id="agents">
          <thead><tr><th>Agent</th><th>Installed</th><th>State</th><th>Model</th><th>Config file</th><th>Actions</th></tr></thead>
          <tbody>
            {(agents ?? []).map((a) => {
              const blocked = a.state === "policy" || a.state === "unreadable";
              return (
                <tr key={a.id} data-agent={a.id}>
                  <th scope="row" title={a.location ?? "not found on this machine"}>{a.name}</th>
                  <td class={a.installed ? "" : "muted"}>{a.installed ? (a.version ? `yes · ${a.version}` : "yes") : "no"}</td>
                  <td class={`agent-state ${STATE_CLASS[a.state]}`} title={a.detail}>{STATE_TEXT[a.state]}</td>
                  <td>
                    {a.state === "guide" ? <span class="muted">—</span> : (
                      <input aria-label={`Model for ${a.name}`} list="seller-models" placeholder={a.model ?? "default"}
                        value={models[a.id] ?? ""} onInput={(e) => setModels({ ...models, [a.id]: (e.target as HTMLInputElement).value })} />
                    )}
                  </td>
                  <td class="path wrap">{a.configPath ?? "—"}</td>
                  <td>
                    {a.state === "guide" ? (
                      <details><summary>How to set it up</summary><p class="guide">{a.guide}</p></details>
                    ) : (
                      <div class="actions">
                        <button type="button" disabled={blocked || busy} onClick={() => void preview(a, "configure")}>{a.state === "configured" ? "Re-apply…" : "Configure…"}</button>
                        <button type="button" disabled={busy || !["configured", "stale", "drifted"].includes(a.state)} onClick={() => void preview(a, "restore")}>Restore…</button>
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
            {agents === null && <tr><td colSpan={6} class="muted">Looking for agents…</td></tr>}
          </tbody>
        </table>
      </div>
      <div class="columns">
        <section>
          <h2>Terminals</h2>
          <ul class="plain" id="terminals">
            {terminals?.length === 0 && <li class="muted">No terminal emulator found.</li>}
            {terminals?.map((t) => <li key={t.id}>{t.name}{t.preferred ? " (opens agents)" : ""}{t.current ? " (this one)" : ""} — <span class="path">{t.location}</span></li>)}
          </ul>
        </section>
        <section>
          <h2>Doctor <button type="button" onClick={doctor}>Run checks</button></h2>
          <ul class="plain" id="doctor">
            {checks?.map((c) => (
              <li key={c.id} class={`check check-${c.status}`}>
                <span class="badge">{c.status.toUpperCase()}</span> {c.message}
                {c.fix && <div class="muted">Fix: {c.fix}</div>}
              </li>
            ))}
          </ul>
        </section>
      </div>
    </section>
  );
}

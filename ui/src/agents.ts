// The agents view: what is installed and where each agent stands, with
// one-click configure (a model can be picked; "Preview" shows the diff
// without writing), restore, and a guide for agents set up by hand. Also
// the terminals list and the doctor's checks.

import { api, el } from "./api.js";

/** One agent, as GET /api/agents reports it. */
export interface Agent {
  id: string; name: string; installed: boolean; location: string | null; version: string | null;
  configPath: string | null; configExists: boolean; format: string | null;
  state: "notConfigured" | "configured" | "stale" | "drifted" | "policy" | "unreadable" | "guide";
  detail: string; model: string | null; guide: string | null;
}
interface Done { id: string; path: string; changed: boolean; diff: string; skipped: string[]; model: string | null; dryRun: boolean }
interface Terminal { id: string; name: string; location: string; preferred: boolean; current: boolean }
interface Check { id: string; status: "ok" | "warn" | "fail"; message: string; fix: string }

const STATE_TEXT: Record<Agent["state"], string> = {
  notConfigured: "not configured",
  configured: "configured",
  stale: "stale",
  drifted: "drifted",
  policy: "managed by policy",
  unreadable: "unreadable",
  guide: "set up by hand",
};

const STATE_CLASS: Record<Agent["state"], string> = {
  notConfigured: "muted",
  configured: "state-ok",
  stale: "state-cooldown",
  drifted: "state-cooldown",
  policy: "state-bad",
  unreadable: "state-bad",
  guide: "muted",
};

function show(message: string, bad: boolean): void {
  const out = document.getElementById("agent-result");
  if (!out) return;
  out.hidden = false;
  out.className = bad ? "notice bad" : "notice";
  out.replaceChildren(el("div", message));
}

function showDone(done: Done): void {
  const out = document.getElementById("agent-result");
  if (!out) return;
  show(
    done.dryRun
      ? done.changed ? `Preview of ${done.path} (nothing written):` : `${done.path}: nothing to change.`
      : done.changed ? `Updated ${done.path}.` : `${done.path}: nothing to change.`,
    false,
  );
  if (done.changed) out.append(el("pre", done.diff, "diff"));
  if (done.skipped.length > 0) out.append(el("div", `Left alone (you changed them since): ${done.skipped.join(", ")}`));
}

function row(t: string, a: Agent, reload: () => void): HTMLTableRowElement {
  const tr = el("tr");
  tr.dataset.agent = a.id;
  const name = el("td", a.name);
  name.title = a.location ?? "not found on this machine";
  const installed = el("td", a.installed ? (a.version ? `yes · ${a.version}` : "yes") : "no", a.installed ? "" : "muted");
  const state = el("td", STATE_TEXT[a.state], `agent-state ${STATE_CLASS[a.state]}`);
  state.title = a.detail;
  const file = el("td", a.configPath ?? "—", "wrap path");
  const cell = el("td");
  const actions = el("div", "", "actions");
  cell.append(actions);
  if (a.state === "guide") {
    const details = el("details");
    details.append(el("summary", "How to set it up"), el("p", a.guide ?? ""));
    actions.append(details);
    tr.append(name, installed, state, el("td", "—", "muted"), file, cell);
    return tr;
  }
  const model = el("input");
  model.placeholder = a.model ?? "default";
  model.setAttribute("list", "seller-models");
  model.setAttribute("aria-label", `Model for ${a.name}`);
  const run = async (what: "configure" | "restore", dryRun: boolean): Promise<void> => {
    try {
      const body = what === "configure" ? { model: model.value.trim() || undefined, dryRun } : { dryRun };
      showDone(await api<Done>(t, `/api/agents/${encodeURIComponent(a.id)}/${what}`, body));
      if (!dryRun) reload();
    } catch (e) {
      show(`${a.name}: ${(e as Error).message}`, true);
    }
  };
  const button = (label: string, onClick: () => void, disabled = false): HTMLButtonElement => {
    const b = el("button", label);
    b.type = "button";
    b.disabled = disabled;
    b.addEventListener("click", onClick);
    return b;
  };
  const blocked = a.state === "policy" || a.state === "unreadable";
  actions.append(
    button(a.state === "configured" ? "Re-apply" : "Configure", () => void run("configure", false), blocked),
    button("Preview", () => void run("configure", true), blocked),
    button("Restore", () => void run("restore", false), !["configured", "stale", "drifted"].includes(a.state)),
  );
  const modelCell = el("td");
  modelCell.append(model);
  tr.append(name, installed, state, modelCell, file, cell);
  return tr;
}

/** Loads and renders the agents table. */
export async function refreshAgents(t: string): Promise<void> {
  const body = document.querySelector("#agents tbody");
  if (!body) return;
  const agents = await api<Agent[]>(t, "/api/agents");
  // Keep a model the user is typing: only refresh rows that are not being edited.
  const active = document.activeElement;
  if (active instanceof HTMLInputElement && body.contains(active)) return;
  body.replaceChildren(...agents.map((a) => row(t, a, () => void refreshAgents(t))));
}

/** Loads the terminals list once. */
export async function loadTerminals(t: string): Promise<void> {
  const list = document.getElementById("terminals");
  if (!list) return;
  const terminals = await api<Terminal[]>(t, "/api/terminals");
  list.replaceChildren(
    ...(terminals.length === 0
      ? [el("li", "No terminal emulator found.", "muted")]
      : terminals.map((x) => el("li", `${x.name}${x.preferred ? " (opens agents)" : ""}${x.current ? " (this one)" : ""} — ${x.location}`))),
  );
}

/** Runs the doctor and lists its checks. */
export async function runDoctor(t: string): Promise<void> {
  const list = document.getElementById("doctor");
  if (!list) return;
  list.replaceChildren(el("li", "Checking…", "muted"));
  const result = await api<{ ok: boolean; checks: Check[] }>(t, "/api/doctor");
  list.replaceChildren(
    ...result.checks.map((c) => {
      const li = el("li", "", `check check-${c.status}`);
      li.append(el("span", c.status.toUpperCase(), "badge"), el("span", ` ${c.message}`));
      if (c.fix) li.append(el("div", `Fix: ${c.fix}`, "muted"));
      return li;
    }),
  );
}

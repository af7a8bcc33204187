// Routing: mode and scorer (PUT /api/routing; the next request obeys), the
// fixed seller or set and whether fixed may fail over; and for a model and
// protocol, the plan as it stands: candidates with their score breakdown,
// missing inputs, and every excluded seller with its reason.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtMs, fmtTps } from "../format.js";
import type { LiveEvent, LiveState } from "../live.js";
import type { Mode, Plan, RoutingSettings, Scorer } from "../types.js";
import { message, Problem } from "./bits.js";

const MODES: { id: Mode; label: string; hint: string }[] = [
  { id: "fullAuto", label: "Fully automatic", hint: "every seller that serves the model, best first" },
  { id: "fixedSet", label: "Fixed set", hint: "only the sellers you tick, best first" },
  { id: "fixed", label: "Fixed seller", hint: "always one seller" },
];
const SCORERS: { id: Scorer; label: string; hint: string }[] = [
  { id: "speed", label: "Speed", hint: "lowest time to first token, highest throughput" },
  { id: "discount", label: "Discount", hint: "cheapest effective price" },
  { id: "balanced", label: "Balanced", hint: "speed, health and price together" },
];
const PROTOCOLS = ["openai-chat", "openai-responses", "anthropic-messages", "gemini"];

// The model picked last, kept while the panel is open (the view remounts on every visit).
let lastModel = "";

function score(v: number): string {
  return v.toFixed(2);
}

/** The routing view. */
export function Routing({ state, dispatch }: { state: LiveState; dispatch: (e: LiveEvent) => void }) {
  const r = state.routing;
  const [error, setError] = useState<string | null>(null);
  const [models, setModels] = useState<string[]>([]);
  const [model, setModelState] = useState(lastModel);
  const setModel = (m: string | ((cur: string) => string)): void =>
    setModelState((cur) => (lastModel = typeof m === "function" ? m(cur) : m));
  const recent = state.requests[0]?.modelAsked ?? "";
  const [protocol, setProtocol] = useState("openai-chat");
  const [plan, setPlan] = useState<Plan | null>(null);
  const sellers = state.sellers?.sellers ?? [];

  useEffect(() => {
    void api<{ data: { id: string }[] }>("/v1/models")
      .then((m) => {
        const ids = [...new Set([...m.data.map((x) => x.id), ...sellers.flatMap((s) => s.models)])].sort();
        setModels(ids);
        setModel((cur) => cur || ids[0] || recent);
      })
      .catch(() => undefined);
    // Once per visit: the model list changes only with the sellers file.
    // eslint-disable-next-line
  }, []);

  // The plan follows the sellers' live stats, at most every 2 s.
  const stamp = Math.floor(Date.now() / 2000);
  useEffect(() => {
    if (!model.trim()) {
      setPlan(null);
      return;
    }
    void api<Plan>(`/api/route-plan?model=${encodeURIComponent(model.trim())}&protocol=${encodeURIComponent(protocol)}`)
      .then(setPlan)
      .catch((e: unknown) => setError(message(e)));
  }, [model, protocol, r, stamp]);

  const save = async (next: RoutingSettings): Promise<void> => {
    // Shown at once: the inputs are controlled, so without this a live
    // update arriving before the answer would snap a clicked radio back.
    const before = r;
    dispatch({ type: "routing", data: next });
    try {
      dispatch({ type: "routing", data: await api<RoutingSettings>("/api/routing", "PUT", next) });
      setError(null);
    } catch (e) {
      if (before) dispatch({ type: "routing", data: before });
      setError(`Routing not changed: ${message(e)}`);
    }
  };

  if (!r) return <p class="muted">Loading routing settings…</p>;
  return (
    <section class="routing">
      <Problem message={error} onDismiss={() => setError(null)} />
      <div class="columns">
        <fieldset id="mode">
          <legend>Mode</legend>
          {MODES.map((m) => (
            <label key={m.id} class="choice">
              <input type="radio" name="mode" value={m.id} checked={r.mode === m.id}
                onChange={() => void save({ ...r, mode: m.id, fixedSeller: m.id === "fixed" ? r.fixedSeller ?? sellers[0]?.id ?? null : r.fixedSeller, fixedSet: m.id === "fixedSet" && r.fixedSet.length === 0 ? sellers.map((s) => s.id) : r.fixedSet })} />
              <span><strong>{m.label}</strong> <span class="muted">— {m.hint}</span></span>
            </label>
          ))}
          {r.mode === "fixed" && (
            <div class="sub">
              <label>Seller{" "}
                <select value={r.fixedSeller ?? ""} onChange={(e) => void save({ ...r, fixedSeller: (e.target as HTMLSelectElement).value || null })}>
                  {sellers.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
                </select>
              </label>
              <label class="choice">
                <input type="checkbox" checked={r.fixedFailover} onChange={(e) => void save({ ...r, fixedFailover: (e.target as HTMLInputElement).checked })} />
                <span>May fail over to other sellers when it fails</span>
              </label>
            </div>
          )}
          {r.mode === "fixedSet" && (
            <div class="sub" id="fixed-set">
              {sellers.map((s) => (
                <label key={s.id} class="choice">
                  <input type="checkbox" checked={r.fixedSet.includes(s.id)}
                    onChange={(e) => {
                      const on = (e.target as HTMLInputElement).checked;
                      void save({ ...r, fixedSet: on ? [...r.fixedSet, s.id] : r.fixedSet.filter((x) => x !== s.id) });
                    }} />
                  <span>{s.name}</span>
                </label>
              ))}
            </div>
          )}
        </fieldset>
        <fieldset id="scorer">
          <legend>Scorer</legend>
          {SCORERS.map((s) => (
            <label key={s.id} class="choice">
              <input type="radio" name="scorer" value={s.id} checked={r.scorer === s.id} onChange={() => void save({ ...r, scorer: s.id })} />
              <span><strong>{s.label}</strong> <span class="muted">— {s.hint}</span></span>
            </label>
          ))}
        </fieldset>
        <fieldset id="translation">
          <legend>Protocols</legend>
          <label class="choice">
            <input type="checkbox" checked={r.translation} onChange={(e) => void save({ ...r, translation: (e.target as HTMLInputElement).checked })} />
            <span><strong>Translate between protocols</strong> <span class="muted">— a seller that speaks another protocol than the agent (chat for Claude Code, say) may serve it; one that speaks the agent's own goes first when scores tie. A seller can opt out with <code>translation: false</code> in sellers.yaml.</span></span>
          </label>
        </fieldset>
      </div>

      <h2>The plan now</h2>
      <div class="plan-query">
        <label>Model{" "}
          <input value={model} list="plan-models" onInput={(e) => setModel((e.target as HTMLInputElement).value)} placeholder="a model name" />
        </label>
        <datalist id="plan-models">{models.map((m) => <option key={m} value={m} />)}</datalist>
        <label>Protocol{" "}
          <select value={protocol} onChange={(e) => setProtocol((e.target as HTMLSelectElement).value)}>
            {PROTOCOLS.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
      </div>
      {plan && (
        <>
          <div class="scroll">
            <table id="plan">
              <thead><tr><th>#</th><th>Seller</th><th class="num">Total</th><th class="num">TTFT</th><th class="num">Throughput</th><th class="num">Health</th><th class="num">Price</th><th class="num">Inputs (TTFT · tok/s · price)</th><th>Missing</th><th>Note</th></tr></thead>
              <tbody>
                {plan.ranked.map((c, i) => (
                  <tr key={c.seller}>
                    <td class="num">{i + 1}</td>
                    <td>{c.seller}</td>
                    <td class="num strong">{score(c.score.total)}</td>
                    <td class="num">{score(c.score.ttft)}</td>
                    <td class="num">{score(c.score.throughput)}</td>
                    <td class="num">{score(c.score.health)}</td>
                    <td class="num">{score(c.score.price)}</td>
                    <td class="num muted">{fmtMs(c.inputs.ttftMs)} · {fmtTps(c.inputs.tokensPerSec)} · ×{c.inputs.price === null ? "?" : c.inputs.price.toFixed(2)}</td>
                    <td class="muted">{c.score.missing.length ? c.score.missing.join(", ") : "—"}</td>
                    <td class="muted">{[c.via ? `via translation ${c.via}` : null, c.note ?? (c.explored ? "explored" : null)].filter(Boolean).join("; ")}</td>
                  </tr>
                ))}
                {plan.ranked.length === 0 && <tr><td colSpan={10} class="muted">No seller would be tried for this model and protocol.</td></tr>}
              </tbody>
            </table>
          </div>
          {plan.excluded.length > 0 && (
            <>
              <h3>Excluded</h3>
              <ul class="plain" id="excluded">
                {plan.excluded.map((x) => <li key={x.seller}><strong>{x.seller}</strong>: {x.reason}</li>)}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}

// Add, edit or remove a seller (POST/PUT/DELETE /api/sellers). The core
// writes sellers.yaml in place, keeping the user's comments and order, and
// stores a typed key outside the file; a key is never shown again, so the
// edit form leaves it blank ("absent keeps the stored key").

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import type { Seller } from "../types.js";
import { sellerBody } from "../seller_body.js";
import { message, Problem } from "./bits.js";

const PROTOCOLS = ["openai-chat", "openai-responses", "anthropic-messages", "gemini"];

function unsupported(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 404 || e.status === 405);
}

/** The form; `seller` null adds a new one. */
export function SellerForm({ seller, onDone }: { seller: Seller | null; onDone: () => void }) {
  const isNew = seller === null;
  const [f, setF] = useState<Record<string, string>>(() => ({
    id: seller?.id ?? "", name: seller?.name ?? "", baseUrl: seller?.baseUrl ?? "", apiKey: "", apiKeyEnv: "",
    models: seller?.models.join(", ") ?? "", discountRatio: seller ? String(seller.discountRatio) : "",
    serviceFeeRatio: seller ? String(seller.serviceFeeRatio) : "", priority: seller ? String(seller.priority) : "",
    maxConcurrency: seller?.maxConcurrency != null ? String(seller.maxConcurrency) : "",
    credits: seller?.credits ? String(seller.credits.balance) : "",
  }));
  const [protocols, setProtocols] = useState<string[]>(seller?.protocols ?? ["openai-chat"]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => {
    first.current?.scrollIntoView({ block: "nearest" });
    first.current?.focus();
  }, [seller?.id]);

  const field = (k: string, label: string, props: Record<string, unknown> = {}) => (
    <label class="field">
      <span>{label}</span>
      <input name={k} value={f[k] ?? ""} onInput={(e) => setF({ ...f, [k]: (e.target as HTMLInputElement).value })} {...props} />
    </label>
  );

  const run = async (what: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    try {
      await what();
      onDone();
    } catch (e) {
      setError(unsupported(e) ? "Editing sellers needs a newer TokenBuddy (this core has no sellers API); edit sellers.yaml by hand meanwhile." : message(e));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event): void => {
    e.preventDefault();
    const body = sellerBody(f, protocols, isNew);
    void run(() => (isNew ? api("/api/sellers", "POST", body) : api(`/api/sellers/${encodeURIComponent(seller.id)}`, "PUT", body)));
  };

  return (
    <form class="seller-form card" id="seller-form" onSubmit={submit} aria-label={isNew ? "Add a seller" : `Edit ${seller.name}`}>
      <h3>{isNew ? "Add a seller" : `Edit ${seller.name}`}</h3>
      <Problem message={error} onDismiss={() => setError(null)} />
      <div class="form-grid">
        <label class="field">
          <span>Id</span>
          <input ref={first} name="id" value={f.id} required readOnly={!isNew} pattern="[A-Za-z0-9._\-]+"
            onInput={(e) => setF({ ...f, id: (e.target as HTMLInputElement).value })} />
        </label>
        {field("name", "Name (optional)")}
        {field("baseUrl", "Base URL", { required: true, type: "url", placeholder: "https://api.example.com/v1" })}
        {field("apiKey", isNew ? "API key (kept outside sellers.yaml: OS keychain or a private file)" : "New API key (blank keeps the stored one)", { type: "password", autoComplete: "off" })}
        {field("apiKeyEnv", "…or the environment variable holding it")}
        {field("models", "Models (comma separated; empty = any)")}
        {field("discountRatio", "Discount ratio", { inputMode: "decimal", placeholder: "1" })}
        {field("serviceFeeRatio", "Service fee ratio", { inputMode: "decimal", placeholder: "0" })}
        {field("priority", "Priority", { inputMode: "numeric", placeholder: "0" })}
        {field("maxConcurrency", "Max concurrency", { inputMode: "numeric", placeholder: "unlimited" })}
        {field("credits", "Credits (prepaid balance)", { inputMode: "decimal" })}
        <fieldset class="field">
          <legend>Protocols</legend>
          {PROTOCOLS.map((p) => (
            <label key={p} class="choice">
              <input type="checkbox" checked={protocols.includes(p)}
                onChange={(e) => setProtocols((e.target as HTMLInputElement).checked ? [...protocols, p] : protocols.filter((x) => x !== p))} />
              <span>{p}</span>
            </label>
          ))}
        </fieldset>
      </div>
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>{isNew ? "Add seller" : "Save"}</button>
        <button type="button" onClick={onDone}>Cancel</button>
        <span class="spacer" />
        {!isNew && !confirmRemove && <button type="button" class="danger" onClick={() => setConfirmRemove(true)}>Remove…</button>}
        {!isNew && confirmRemove && (
          <>
            <span>Remove {seller.id} from sellers.yaml?</span>
            <button type="button" class="danger" disabled={busy} onClick={() => void run(() => api(`/api/sellers/${encodeURIComponent(seller.id)}`, "DELETE"))}>Yes, remove</button>
            <button type="button" onClick={() => setConfirmRemove(false)}>Keep it</button>
          </>
        )}
      </div>
    </form>
  );
}

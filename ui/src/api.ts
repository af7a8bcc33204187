// Talking to TokenBuddy's /api with the access token; errors come back as
// {"error": {"message": ...}} and are raised with that message.

const TOKEN_KEY = "tokenbuddy.token";

/** The access token: from the URL fragment (never sent to a server), kept for the tab. */
export function token(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname);
    return fromHash;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** An /api call that failed, with the server's message and status. */
export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** Calls `path` with the token; returns the parsed JSON body. */
export async function api<T>(t: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { headers: { Authorization: `Bearer ${t}` } };
  if (body !== undefined) {
    init.method = "POST";
    init.headers = { Authorization: `Bearer ${t}`, "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const data: unknown = await resp.json().catch(() => null);
  if (!resp.ok) {
    const message = (data as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${resp.status}`;
    throw new ApiError(message, resp.status);
  }
  return data as T;
}

/** Creates an element with text and a class. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", className = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.textContent = text;
  if (className) e.className = className;
  return e;
}

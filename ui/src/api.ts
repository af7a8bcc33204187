// Talking to TokenBuddy's /api with the access token; errors come back as
// {"error": {"message": ...}} and are raised with that message and status.

const TOKEN_KEY = "tokenbuddy.token";

/** The access token: from the launch URL's fragment (never sent to a server), kept for the tab, removed from the address bar. */
export function takeToken(): string | null {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
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

let token = "";

/** Sets the token every call sends. */
export function useToken(t: string): void {
  token = t;
}

/** Calls `path`; `body` (when given) is sent as JSON. Returns the parsed body (null for 204). */
export async function api<T>(path: string, method: "GET" | "POST" | "PUT" | "DELETE" = "GET", body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  const init: RequestInit = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const data: unknown = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) {
    const message = (data as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${resp.status}`;
    throw new ApiError(message, resp.status);
  }
  return data as T;
}

/** The same, but a 404 (an endpoint this core does not have yet) gives null. */
export async function apiOptional<T>(path: string): Promise<T | null> {
  try {
    return await api<T>(path);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

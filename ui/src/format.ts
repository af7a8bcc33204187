// How numbers read in the panel: one place for units, rounding and the dash
// that stands for "not measured yet".

const DASH = "—";

/** Milliseconds: `840 ms`, `1.24 s`, `2m 05s`. */
export function fmtMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(2)} s`;
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

/** Tokens per second with one decimal. */
export function fmtTps(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  return `${v.toFixed(1)} tok/s`;
}

/** A cost in the prices' currency; `unknown` is never shown as zero. */
export function fmtCost(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "unknown";
  if (v === 0) return "0.00";
  if (Math.abs(v) < 0.01) return v.toFixed(4);
  return v.toFixed(2);
}

/** A ratio 0–1 as a percentage. */
export function fmtPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  const p = v * 100;
  return `${p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)} %`;
}

/** A count with thousands grouped and k/M past 100 000. */
export function fmtCount(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e5) return `${Math.round(v / 1e3)}k`;
  return Math.round(v).toLocaleString("en-US");
}

/** How long ago (or, for the future, in how long) `atMs` is from `nowMs`. */
export function fmtRelative(atMs: number, nowMs: number): string {
  const d = Math.round((nowMs - atMs) / 1000);
  const future = d < 0;
  const s = Math.abs(d);
  const text = s < 5 ? "now" : s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} d`;
  if (text === "now") return text;
  return future ? `in ${text}` : `${text} ago`;
}

/** Time left until `untilMs`, as `1m 20s` (or `0s`). */
export function fmtLeft(untilMs: number, nowMs: number): string {
  const s = Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

/** The local date (YYYY-MM-DD) of `ms`, the key `/api/usage?by=day` uses (UTC). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// Small pieces every view uses: an error that stays until dismissed, a
// figure card, and a ticking "now" for countdowns.

import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";

/** A message that stays on screen until the user dismisses it. */
export function Problem({ message, onDismiss }: { message: string | null; onDismiss: () => void }) {
  if (!message) return null;
  return (
    <div class="notice bad problem" role="alert">
      <span>{message}</span>
      <button type="button" class="dismiss" onClick={onDismiss} aria-label="Dismiss">Dismiss</button>
    </div>
  );
}

/** A labelled figure. */
export function Figure({ label, value, hint, id }: { label: string; value: ComponentChildren; hint?: ComponentChildren; id?: string }) {
  return (
    <div class="figure" id={id}>
      <div class="figure-label">{label}</div>
      <div class="figure-value num">{value}</div>
      {hint !== undefined && <div class="figure-hint muted">{hint}</div>}
    </div>
  );
}

/** The wall clock, ticking every `ms` while the component is shown. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** The message of an error value. */
export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// The desktop app's switches (GET/PUT /api/desktop): start at login,
// notifications, put agents back on quit. Hidden when no desktop app runs
// the core (headless `serve` answers present: false) or the core has no
// /api/desktop.

import { useEffect, useState } from "preact/hooks";
import { api, apiOptional } from "../api.js";
import type { DesktopSettings } from "../types.js";
import { message } from "./bits.js";

type Key = "autostart" | "notifications" | "restoreAgentsOnQuit";

const LABELS: Record<Key, string> = {
  autostart: "Start at login",
  notifications: "Desktop notifications",
  restoreAgentsOnQuit: "When TokenBuddy quits, put configured agents back",
};

/** The switches, or nothing outside the desktop app. */
export function DesktopSwitches() {
  const [desktop, setDesktop] = useState<DesktopSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    // Read again whenever the window comes back: the tray's "Start at login"
    // may have changed it meanwhile (no timer: nothing is read while unseen).
    const load = (): void => {
      if (document.visibilityState === "hidden") return;
      apiOptional<DesktopSettings>("/api/desktop").then(setDesktop, (e: unknown) => setError(message(e)));
    };
    load();
    window.addEventListener("focus", load);
    document.addEventListener("visibilitychange", load);
    return () => {
      window.removeEventListener("focus", load);
      document.removeEventListener("visibilitychange", load);
    };
  }, []);
  if (!desktop?.present) return null;
  const flip = async (key: Key): Promise<void> => {
    // Shown at once (a controlled checkbox snaps back on any re-render until the answer).
    const before = desktop;
    setDesktop({ ...desktop, [key]: !desktop[key] });
    try {
      setDesktop(await api<DesktopSettings>("/api/desktop", "PUT", { [key]: !before[key] }));
      setError(null);
    } catch (e) {
      setDesktop(before);
      setError(message(e));
    }
  };
  return (
    <section class="desktop-switches" id="desktop-switches">
      <h2>Desktop app</h2>
      {(Object.keys(LABELS) as Key[]).map((key) => (
        <label key={key} class="desktop-switch">
          <input type="checkbox" id={`desktop-${key}`} checked={desktop[key] === true}
            disabled={desktop[key] === null} onChange={() => void flip(key)} /> {LABELS[key]}
        </label>
      ))}
      {error && <p class="state-bad" role="alert">{error}</p>}
    </section>
  );
}

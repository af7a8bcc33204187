//! The webview's language under a "C" locale. WebKitGTK takes
//! `navigator.language` from the process locale, and with `LANG` unset, `C`,
//! `C.UTF-8` or a locale the C library lacks it reports `"C"` — not a BCP 47
//! tag, so `new Intl.NumberFormat(navigator.language)` throws and the
//! panel's script (its chart library does this at load) stops: a blank
//! window. This script, run before the page's own, reports `en-US` instead,
//! only when the platform's value is not a usable tag.

/// The initialization script for the panel's window.
pub const SCRIPT: &str = r#"(() => {
  try { new Intl.NumberFormat(navigator.language); return; } catch (_) {}
  const tag = "en-US";
  Object.defineProperty(Navigator.prototype, "language", { get: () => tag, configurable: true });
  Object.defineProperty(Navigator.prototype, "languages", { get: () => [tag], configurable: true });
})();"#;

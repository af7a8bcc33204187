//! The control panel's files, embedded in the binary from `ui/dist` at build
//! time (or the "UI not built" page `build.rs` writes when it was absent),
//! so an installed `tokenbuddy` serves the panel with no source tree.
//!
//! Caching: HTML is `no-cache` (revalidated through its ETag, so a new
//! build shows at once); the content-hashed files in `assets/` are
//! `immutable`; anything else is revalidated too.

use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// The embedded folder (chosen by `build.rs`).
#[derive(rust_embed::Embed)]
#[folder = "$TOKENBUDDY_UI_EMBED"]
struct Files;

/// `Cache-Control` for files that never change under their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` for files that must be revalidated.
const REVALIDATE: &str = "no-cache";

/// Serves `uri`'s file (`/` is `index.html`); `None` when there is none.
pub fn serve(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let name = file_name(uri.path())?;
    let file = Files::get(&name)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let cache = cache_control(&name);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else if method == Method::HEAD {
        StatusCode::OK.into_response()
    } else {
        (StatusCode::OK, file.data.into_owned()).into_response()
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(resp)
}

/// The embedded file a request path names: `/` and folders mean their
/// `index.html`; paths that climb out (`..`) or hide (`.x`) name none.
fn file_name(path: &str) -> Option<String> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let name = if trimmed.is_empty() || trimmed.ends_with('/') {
        format!("{trimmed}index.html")
    } else {
        trimmed.to_string()
    };
    let clean = name
        .split('/')
        .all(|part| !part.is_empty() && !part.starts_with('.'));
    clean.then_some(name)
}

/// How long a browser may keep a file.
fn cache_control(name: &str) -> &'static str {
    if name.ends_with(".html") || !is_hashed(name) {
        REVALIDATE
    } else {
        IMMUTABLE
    }
}

/// Whether a file never changes under its name: everything in `assets/`,
/// where the UI build (`ui/build.mjs`, esbuild's `[name]-[hash]`) and
/// `build.rs`'s placeholder write only content-hashed names. Guessing a
/// hash from the name alone misread esbuild's all-capital hashes
/// (`main-SWYWJRLU.js`) as words.
fn is_hashed(name: &str) -> bool {
    name.starts_with("assets/")
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_files_and_never_climb_out() {
        assert_eq!(file_name("/").as_deref(), Some("index.html"));
        assert_eq!(
            file_name("/assets/app.js").as_deref(),
            Some("assets/app.js")
        );
        assert_eq!(file_name("/docs/").as_deref(), Some("docs/index.html"));
        assert_eq!(file_name("/../secret"), None);
        assert_eq!(file_name("/assets/../../x"), None);
        assert_eq!(file_name("/.env"), None);
        assert_eq!(file_name("//x"), None);
    }

    #[test]
    fn only_the_hashed_assets_are_immutable() {
        assert_eq!(cache_control("index.html"), REVALIDATE);
        assert_eq!(cache_control("assets/index-BfX3k9aQ.js"), IMMUTABLE);
        assert_eq!(cache_control("assets/chunk.3f9a1c2e.css"), IMMUTABLE);
        assert_eq!(cache_control("assets/index-Q2X7KM4Z.css"), IMMUTABLE);
        // esbuild's hashes can be all capitals (found by CI: it was no-cache).
        assert_eq!(cache_control("assets/main-SWYWJRLU.js"), IMMUTABLE);
        assert_eq!(cache_control("style.css"), REVALIDATE);
        assert_eq!(cache_control("main.js"), REVALIDATE);
        assert_eq!(cache_control("favicon.svg"), REVALIDATE);
    }

    #[test]
    fn an_index_page_is_always_embedded() {
        let page = Files::get("index.html").expect("build.rs guarantees an index.html");
        assert!(page.metadata.mimetype().starts_with("text/html"));
    }
}

//! `/api/openapi.json`: one OpenAPI 3.1 document for the whole `/api`,
//! built from the routes each part declares and the Rust types their
//! handlers serialise. `tokenbuddy openapi` prints it; the UI's TypeScript
//! types are generated from it (`npm run gen:api`), and CI fails when the
//! committed copies drift (`scripts/check-api-types`).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi as Document, RefOr};
use utoipa::OpenApi;

use super::events::{AgentsEvent, Snapshot};
use super::routing::ProxyState;
use crate::notices::Notice;
use crate::store::RequestRow;

/// The document's frame: title, the token scheme, and the bodies of the
/// `/api/events` stream (which no single response names).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "TokenBuddy control API",
        description = "The local control plane of TokenBuddy: sellers, routing, the request log, usage, agents. \
Every call needs the access token (`Authorization: Bearer <token>`, the token in `<data dir>/token`); \
mutating calls must also come from the panel's own origin. JSON is camelCase throughout. \
`GET /api/events` is a Server-Sent Events stream whose events carry SnapshotEvent (`snapshot`), \
SellersView (`sellers`), RoutingSettings (`routing`), ProxyState (`proxy`), RequestRow[] (`requests`), \
AgentsEvent (`agents`) and Notice (`notice`)."
    ),
    components(schemas(Snapshot, AgentsEvent, ProxyState, Notice, RequestRow))
)]
struct Frame;

/// The whole `/api` description.
pub fn document() -> Document {
    let mut doc = Frame::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    for part in [
        super::routes().into_openapi(),
        super::store::routes().into_openapi(),
        super::agents::routes().into_openapi(),
        super::events::routes().into_openapi(),
        super::demo::routes().into_openapi(),
        super::desktop::routes().into_openapi(),
    ] {
        doc.merge(part);
    }
    require_every_property(&mut doc);
    doc
}

/// Our serialiser writes every field of every answer, `null` where there is
/// none (no `skip_serializing_if` on an API type), so every property is
/// required; utoipa marks `Option` fields optional, which would type them
/// `x?: T | null` in the UI instead of `x: T | null`. Request bodies are
/// the exception: their optional fields may be left out.
fn require_every_property(doc: &mut Document) {
    const REQUESTS: &[&str] = &["SellerBody", "AgentCommand", "DesktopChange"];
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (name, schema) in components.schemas.iter_mut() {
        if REQUESTS.contains(&name.as_str()) {
            continue;
        }
        require(schema);
    }
}

fn require(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::T(Schema::Object(object)) => {
            object.required = object.properties.keys().cloned().collect();
        }
        RefOr::T(Schema::AllOf(all)) => all.items.iter_mut().for_each(require),
        _ => {}
    }
}

/// The document as served, built once.
fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_pretty_json().unwrap_or_default())
}

/// The document as printed by `tokenbuddy openapi` and committed at
/// `ui/openapi.json`: pretty JSON with a final newline.
pub fn pretty() -> String {
    format!("{}\n", json())
}

/// `GET /api/openapi.json`.
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}

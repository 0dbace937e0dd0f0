//! The API contract: an OpenAPI 3.1 document generated from the handlers themselves
//! (`#[utoipa::path]` on each, `ToSchema` on what they read and answer), served at
//! `GET /api/openapi.json`, with a browsable reference at `GET /api/docs` (RapiDoc,
//! vendored in `assets/vendor/` and served from here: no CDN).
//!
//! Every failure answers [`ErrorBody`] (`http/error.rs`); each route documents its success
//! and its client errors (`4XX`, the same body). A test walks the gateway's router and
//! fails if any `/api` route (path and method) is missing from the document, or the
//! document names a route the router does not serve; `scripts/test` fuzzes the running
//! gateway against the document with Schemathesis (docs/api.md).

use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::AppState;

/// `{"error": {"code": "...", "message": "..."}}`: every failure's body.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation of what `error.rs` writes with `json!`.
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable, for programs: `unauthorized`, `not_found`, `weak_password`, `link_expired`, ...
    pub code: String,
    /// A sentence for people: in Ukrainian when the request asks for it (`Accept-Language:
    /// uk`, or the `bureau_lang=uk` cookie of the portal's language switch), otherwise in
    /// English. `code` is the same in both.
    pub message: String,
    /// Quota errors: the limit that was reached.
    pub limit: Option<u64>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bureau web API",
        description = "The order desk's HTTP API for web customers and staff. Every failure answers `{\"error\": {\"code\", \"message\"}}`. Signed-in routes take the session token as `Authorization: Bearer <token>` (the answer of `POST /api/session`) or the `bureau_session` cookie browsers get."
    ),
    paths(
        super::accounts::register,
        super::profile::me,
        super::profile::change_me,
        super::account_mail::resend_verification,
        super::account_mail::confirm_verification,
        super::account_mail::forgot,
        super::account_mail::reset,
        super::session::log_in,
        super::session::current,
        super::session::log_out,
        super::orders::place_order,
        super::orders::list_orders,
        super::orders::order_details,
        super::quote::answer_quote,
        super::quote::status_request,
        super::live::order_live,
        super::live::staff_feed,
        super::files::customer_download,
        super::files::staff_download,
        super::results::attach_results,
        super::upload_link::revoke_links,
        super::staff::list_orders,
        super::staff::change_status,
        super::staff::status_request,
        super::admin::readiness,
        super::catalogue::catalogue,
        super::bookings::free_slots,
        super::bookings::list_bookings,
        super::bookings::book,
        super::bookings::reschedule,
        super::bookings::cancel,
        super::payments::list_payments,
        super::payments::record_payment,
        super::payments::record_refund,
        super::payments::line_outcome,
        document,
        reference,
        reference_script,
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SessionAuth),
    tags(
        (name = "accounts", description = "Registration, e-mail verification, password reset"),
        (name = "session", description = "Sign in, who am I, sign out"),
        (name = "orders", description = "A customer's own orders"),
        (name = "bookings", description = "Free time slots of bookable services; a customer's own bookings"),
        (name = "staff", description = "The back office's API (staff roles only)"),
        (name = "admin", description = "Admins only"),
        (name = "contract", description = "This document and its reference page"),
    )
)]
pub struct ApiDoc;

/// The `session` security scheme the signed-in routes name.
struct SessionAuth;

impl Modify for SessionAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The session token from `POST /api/session` (browsers send the `bureau_session` cookie instead)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document, made once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
});

const REFERENCE_PAGE: &str = include_str!("../../assets/api-docs.html");
/// RapiDoc 9.3.8 (npm `rapidoc`, MIT): `assets/vendor/README.md`.
const RAPIDOC: &str = include_str!("../../assets/vendor/rapidoc-min.js");

/// Scripts only from here, as every page; RapiDoc's components set inline styles, so
/// styles may be inline on this page (and only styles).
const REFERENCE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

pub fn router() -> Router<AppState> {
    let reference = Router::new()
        .route("/api/docs", get(reference))
        .route("/api/docs/rapidoc-min.js", get(reference_script))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(REFERENCE_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));
    Router::new()
        .route("/api/openapi.json", get(document))
        .merge(reference)
}

/// This document: OpenAPI 3.1, generated from the handlers.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "contract",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub(crate) async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

/// The browsable reference of this document.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "contract",
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String))
)]
pub(crate) async fn reference() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        REFERENCE_PAGE,
    )
}

/// The reference page's script (RapiDoc), served from here.
#[utoipa::path(
    get,
    path = "/api/docs/rapidoc-min.js",
    tag = "contract",
    responses((status = 200, description = "JavaScript", content_type = "text/javascript", body = String))
)]
pub(crate) async fn reference_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        RAPIDOC,
    )
}

/// The routes of a router, `(path, methods)`, read from its `Debug` output — axum has no
/// other way to list them. The format is axum 0.8's; the tests fail loudly if it changes
/// (no routes found) rather than pass on nothing.
#[cfg(test)]
pub fn routes_of<S>(router: &Router<S>) -> Vec<(String, Vec<String>)> {
    const METHODS: [&str; 9] = [
        "get", "head", "delete", "options", "patch", "post", "put", "trace", "connect",
    ];
    let debug = format!("{router:?}");
    // Only the path router: the fallback router follows it.
    let main = debug.split("fallback_router:").next().unwrap_or_default();
    let Some((routes, nodes)) = main.split_once("node: Node") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for paths in nodes.split("RouteId(").skip(1) {
        let Some((id, rest)) = paths.split_once("): \"") else {
            continue;
        };
        let Some((path, _)) = rest.split_once('"') else {
            continue;
        };
        let marker = format!("RouteId({id}): ");
        let methods = routes
            .split_once(&marker)
            .map(|(_, endpoint)| {
                let endpoint = endpoint.split("RouteId(").next().unwrap_or_default();
                if endpoint.starts_with("Route") {
                    // A whole service at this path: every method.
                    return vec!["*".to_owned()];
                }
                METHODS
                    .iter()
                    .filter(|method| {
                        endpoint
                            .split_once(&format!(" {method}: "))
                            .is_some_and(|(_, value)| !value.starts_with("None"))
                    })
                    .map(|method| (*method).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        found.push((path.to_owned(), methods));
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::routing::post;
    use serde_json::Value;

    use super::*;

    #[test]
    fn routes_are_read_from_a_router() {
        let router: Router = Router::new()
            .route("/api/a", get(|| async {}).post(|| async {}))
            .route("/api/b/{id}", post(|| async {}))
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ));
        assert_eq!(
            routes_of(&router),
            vec![
                (
                    "/api/a".to_owned(),
                    vec!["get".to_owned(), "post".to_owned()]
                ),
                ("/api/b/{id}".to_owned(), vec!["post".to_owned()]),
            ]
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_error_body() {
        let document: Value = serde_json::from_str(&DOCUMENT).expect("JSON");
        assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(document["components"]["schemas"]["ErrorBody"].is_object());
        assert!(document["components"]["securitySchemes"]["session"].is_object());
    }

    /// Every `/api` route the gateway serves is in the document with its method, and the
    /// document names nothing the gateway does not serve.
    #[tokio::test]
    async fn every_api_route_of_the_gateway_is_in_the_document() {
        let router = crate::http::router(
            crate::http::inspection_state().expect("a state to build the router with"),
            bureau_platform::health::Readiness::new(),
        );
        let served: BTreeSet<(String, String)> = routes_of(&router)
            .into_iter()
            .filter(|(path, _)| path.starts_with("/api/"))
            .flat_map(|(path, methods)| {
                methods
                    .into_iter()
                    // HEAD comes with GET; it is not a route of its own.
                    .filter(|method| method != "head")
                    .map(move |method| (path.clone(), method))
            })
            .collect();
        assert!(
            served.len() >= 20,
            "the router's routes could not be read (axum's Debug format changed?): {served:?}"
        );
        let document: Value = serde_json::from_str(&DOCUMENT).expect("JSON");
        let documented: BTreeSet<(String, String)> = document["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flat_map(|operations| operations.keys())
                    .filter(|key| key.as_str() != "parameters")
                    .map(move |method| (path.clone(), method.clone()))
            })
            .collect();
        let missing: Vec<_> = served.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes served but not in the OpenAPI document (add #[utoipa::path] and list them in http/openapi.rs): {missing:?}"
        );
        let phantom: Vec<_> = documented.difference(&served).collect();
        assert!(phantom.is_empty(), "documented but not served: {phantom:?}");
    }
}

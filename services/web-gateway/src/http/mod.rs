//! The gateway's HTTP API: one module per resource, each with its own router, merged here
//! under the shared layers (request ids, tracing).
//!
//! - `page`: `GET /`, the customer page;
//! - `accounts`: `POST /api/accounts`, customer registration;
//! - `profile`: `GET`, `PATCH /api/accounts/me`, the customer's profile and `notify_by`;
//! - `session`: `POST`, `GET`, `DELETE /api/session`, log in, who am I, log out;
//! - `orders`: `POST`, `GET /api/orders` and `GET /api/orders/{order_number}`, customers only;
//! - `staff`: `GET /api/staff/orders`, `POST /api/staff/orders/{order_id}/status` (a status
//!   change request) and `GET /api/staff/status-requests/{request_id}`, staff only;
//! - `quote`: `POST /api/orders/{order_number}/quote/accept|decline` and
//!   `GET /api/orders/{order_number}/status-requests/{request_id}`, the customer's answer to
//!   a price quote;
//! - `live`: `GET /api/orders/{order_number}/live` and `GET /api/staff/feed`, server-sent events;
//! - `files`: downloads through presigned URLs (customer, staff, signed link `/d/{token}`);
//! - `results`: `POST /api/staff/orders/{order_id}/results`, staff attach result files;
//! - `upload_link`: `GET`, `POST /u/{token}`, uploads into one order by signed link;
//! - `catalogue`: `GET /api/catalogue`, what the business sells, for the order form;
//! - `bookings`: `GET /api/services/{service_code}/slots` (free slots) and
//!   `/api/bookings[/{booking_id}[/reschedule]]`, a customer's own bookings;
//! - `admin`: `GET /api/admin/readiness`, every dependency check with its error, admins only
//!   (the public `/readyz` says only ready or not).
//! - `account_mail`: `POST /api/accounts/verification[/confirm]`,
//!   `POST /api/password/forgot|reset`, and the pages the mailed links open
//!   (`/account/verify`, `/account/reset`);
//! - `openapi`: `GET /api/openapi.json`, the contract generated from the handlers
//!   (`utoipa`), and `GET /api/docs`, its browsable reference (assets embedded);
//! - the staff back office's pages, `/office/...`, are `crate::office`; the customers'
//!   pages, `/portal/...`, are `crate::portal`.
//!
//! Every state-changing request passes `office::csrf` (a strict `Origin` /
//! `Sec-Fetch-Site` check) before any handler.

mod account_mail;
mod accounts;
mod admin;
mod auth;
mod bookings;
mod catalogue;
mod client;
mod error;
mod error_uk;
mod extract;
mod file_form;
mod files;
mod listing;
mod live;
pub mod openapi;
mod order_form;
mod orders;
mod page;
pub(crate) mod payments;
mod profile;
mod quote;
mod results;
mod session;
mod staff;
mod upload_link;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request, Response};
use bureau_event_bus::EventBus;
use bureau_platform::Settings;
use bureau_platform::health::Readiness;
use bureau_platform::object_store::ObjectStore;
use bureau_platform::order_numbers::OrderNumbers;
use sqlx::MySqlPool;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::sign_in_guard::{HashingSlots, SignInLimiter};

pub use auth::presented_token;
pub(crate) use bookings::{Attached, attach_booking, hold_again};
pub(crate) use client::ClientAddress;
pub use error::Error;
pub(crate) use error::human_size;
pub(crate) use error_uk::message_in as error_message_in;
pub(crate) use file_form::accept_files;
pub(crate) use files::redirect_to;
pub(crate) use order_form::{
    MAX_FILES as MAX_FILES_PER_FORM_USIZE, refuse_oversized as refuse_oversized_upload,
    request_limit as upload_request_limit,
};
/// The most files one order says it will carry.
pub(crate) const MAX_FILES_PER_FORM: u32 = MAX_FILES_PER_FORM_USIZE as u32;
pub use live::LiveHub;
pub(crate) use session::{guarded_authenticate, session_cookie};
pub(crate) use staff::{StatusChangeRequest, prepare_status_change, status_change_detail};

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    /// Live updates (server-sent events) for order pages and the staff feed.
    pub live: live::LiveHub,
    pub pool: MySqlPool,
    pub bus: Arc<EventBus>,
    /// Publishes the outbox (the bookings' events); kicked after a change is committed.
    pub outbox: bureau_platform::outbox::Relay,
    pub store: ObjectStore,
    pub settings: Arc<Settings>,
    /// Order numbers, leased from MySQL in blocks ahead of need.
    pub order_numbers: OrderNumbers,
    /// Bounded password hashing and sign-in limits.
    pub sign_in: Arc<SignInGuard>,
    /// The verify-address and reset-password mails (`crate::account_mail`).
    pub account_mail: crate::account_mail::AccountMail,
}

/// What keeps sign-in from being a weapon (see `sign_in_guard`).
pub struct SignInGuard {
    pub hashing: HashingSlots,
    pub limiter: SignInLimiter,
}

impl SignInGuard {
    pub fn new(settings: &bureau_platform::settings::SignInSettings) -> SignInGuard {
        SignInGuard {
            hashing: HashingSlots::new(
                settings.hashing_slots,
                Duration::from_millis(settings.hashing_queue_ms),
            ),
            limiter: SignInLimiter::new(settings.clone()),
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every API route, with its state; `readiness` is what `GET /api/admin/readiness` reports.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    let max_upload_bytes = state.settings.web_gateway.max_upload_bytes;
    Router::new()
        .merge(page::router())
        .merge(accounts::router())
        .merge(profile::router())
        .merge(session::router())
        .merge(orders::router(max_upload_bytes))
        .merge(staff::router())
        .merge(payments::router())
        .merge(quote::router())
        .merge(live::router())
        .merge(files::router())
        .merge(results::router(max_upload_bytes))
        .merge(upload_link::router(max_upload_bytes))
        .merge(admin::router(readiness))
        .merge(catalogue::router())
        .merge(bookings::router())
        .merge(account_mail::router())
        .merge(openapi::router())
        .merge(crate::office::router())
        .merge(crate::portal::router(max_upload_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::office::csrf::same_origin_only,
        ))
        .layer(axum::middleware::from_fn(error_uk::localize))
        .with_state(state)
}

/// A state that builds the router without reaching anything (lazy pool, unconnected bus,
/// the live hub already stopped): for tests that inspect the routes.
#[cfg(test)]
pub(crate) fn inspection_state() -> anyhow::Result<AppState> {
    let dir = bureau_platform::settings::find_config_dir(std::path::Path::new(env!(
        "CARGO_MANIFEST_DIR"
    )))
    .ok_or_else(|| anyhow::anyhow!("no config/ above the crate"))?;
    let settings = Settings::load_from(&dir)?;
    let pool = bureau_platform::database::pool(&settings.database)?;
    let bus = bureau_platform::bus::event_bus(&settings.broker, "inspection");
    let stopped = tokio_util::sync::CancellationToken::new();
    stopped.cancel();
    Ok(AppState {
        outbox: bureau_platform::outbox::Relay::start(
            pool.clone(),
            bus.clone(),
            bureau_platform::outbox::RelaySettings::for_service("inspection"),
            stopped.clone(),
        ),
        live: live::LiveHub::start(bus.clone(), stopped, settings.web_gateway.live.clone()),
        order_numbers: OrderNumbers::new(pool.clone(), 1),
        sign_in: Arc::new(SignInGuard::new(&settings.web_gateway.sign_in)),
        account_mail: crate::account_mail::AccountMail::from_settings(&settings)?,
        store: ObjectStore::new(&settings.storage),
        pool,
        bus,
        settings: Arc::new(settings),
    })
}

/// The path as logs show it. The token of an upload or download link (`/u/{token}`,
/// `/d/{token}`) lets whoever holds it upload into or download from an order for a day,
/// and a set-password link (`/office/set-password/{token}`) opens a staff account: they
/// never reach the logs.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/u/", "/d/", "/office/set-password/"] {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
        {
            return std::borrow::Cow::Owned(format!("{prefix}<redacted>"));
        }
    }
    std::borrow::Cow::Borrowed(path)
}

/// Request ids (kept from the client's `x-request-id` or made up, and echoed back) and a
/// tracing span per request carrying that id (and the path, link tokens redacted), so one
/// request can be found in the logs.
pub fn with_request_layers(app: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            // The matched route too: this span goes to the traces when they are on (named
            // `request`; the platform's `http` span around it carries the trace context).
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", |path| path.as_str());
            tracing::info_span!("request", method = %request.method(), route, path = %loggable_path(request.uri().path()), request_id)
        })
        .on_response(|response: &Response<_>, latency: Duration, _span: &Span| {
            tracing::info!(
                status = response.status().as_u16(),
                latency_ms = latency.as_millis() as u64,
                "answered"
            );
        });
    // Layers wrap outside-in: the id is set first, so the span and the response both see it.
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    /// What the log subscriber wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    #[tokio::test]
    async fn link_tokens_never_reach_the_request_log() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _installed = tracing::subscriber::set_default(subscriber);
        let app = with_request_layers(
            Router::new()
                .route("/u/{token}", get(|| async { "upload page" }))
                .route("/d/{token}", get(|| async { "download" }))
                .route("/api/orders/{number}", get(|| async { "order" })),
        );
        for path in [
            "/u/UPLOADSECRET.abc",
            "/d/DOWNLOADSECRET.xyz",
            "/api/orders/48213097",
        ] {
            let request = Request::get(path).body(Body::empty()).unwrap();
            app.clone().oneshot(request).await.unwrap();
        }
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(!logged.contains("SECRET"), "{logged}");
        assert!(logged.contains("path=/u/<redacted>"), "{logged}");
        assert!(logged.contains("path=/d/<redacted>"), "{logged}");
        assert!(logged.contains("path=/api/orders/48213097"), "{logged}");
    }
}

//! The gateway's HTTP API: one module per resource, each with its own router, merged here
//! under the shared layers (request ids, tracing).
//!
//! - `page`: `GET /`, the customer page;
//! - `accounts`: `POST /api/accounts`, customer registration;
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
//! - `upload_link`: `GET`, `POST /u/{token}`, uploads into one order by signed link.

mod accounts;
mod auth;
mod client;
mod error;
mod extract;
mod file_form;
mod files;
mod listing;
mod live;
mod order_form;
mod orders;
mod page;
mod quote;
mod results;
mod session;
mod staff;
mod upload_link;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Request, Response};
use bureau_event_bus::EventBus;
use bureau_platform::Settings;
use bureau_platform::object_store::ObjectStore;
use bureau_platform::order_numbers::OrderNumbers;
use sqlx::MySqlPool;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::sign_in_guard::{HashingSlots, SignInLimiter};

pub use error::Error;
pub use live::LiveHub;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    /// Live updates (server-sent events) for order pages and the staff feed.
    pub live: live::LiveHub,
    pub pool: MySqlPool,
    pub bus: Arc<EventBus>,
    pub store: ObjectStore,
    pub settings: Arc<Settings>,
    /// Order numbers, leased from MySQL in blocks ahead of need.
    pub order_numbers: OrderNumbers,
    /// Bounded password hashing and sign-in limits.
    pub sign_in: Arc<SignInGuard>,
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

/// Every API route, with its state.
pub fn router(state: AppState) -> Router {
    let max_upload_bytes = state.settings.web_gateway.max_upload_bytes;
    Router::new()
        .merge(page::router())
        .merge(accounts::router())
        .merge(session::router())
        .merge(orders::router(max_upload_bytes))
        .merge(staff::router())
        .merge(quote::router())
        .merge(live::router())
        .merge(files::router())
        .merge(results::router(max_upload_bytes))
        .merge(upload_link::router(max_upload_bytes))
        .with_state(state)
}

/// Request ids (kept from the client's `x-request-id` or made up, and echoed back) and a
/// tracing span per request carrying that id, so one request can be found in the logs.
pub fn with_request_layers(app: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request
                .extensions()
                .get::<RequestId>()
                .and_then(|id| id.header_value().to_str().ok())
                .unwrap_or_default();
            tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id)
        })
        .on_response(|response: &Response<_>, latency: Duration, _span: &Span| {
            tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_millis() as u64, "answered");
        });
    // Layers wrap outside-in: the id is set first, so the span and the response both see it.
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

//! The notifier's Prometheus metrics, served as `GET /metrics` next to `/healthz`.
//!
//! - `notifications_sent_total{kind}`: messages Telegram accepted, by notice kind;
//! - `notifications_skipped_total{reason}`: notices deliberately not sent (redelivery,
//!   superseded status, web-only customer, unreachable chat, unknown order, cut text,
//!   missing template language, …);
//! - `telegram_429_total`: flood-control answers (the shared pace should keep this at 0);
//! - `telegram_unreachable_total`: chats Telegram said we cannot write to (blocked, gone);
//! - `send_slot_wait_seconds`: how long a message waited for its reserved send slot.
//!
//! The recorder is process-wide (the `metrics` facade has one global recorder): several
//! notifiers in one test process share it, and their counts add up.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

pub const SENT: &str = "notifications_sent_total";
pub const SKIPPED: &str = "notifications_skipped_total";
pub const TOO_MANY_REQUESTS: &str = "telegram_429_total";
pub const UNREACHABLE: &str = "telegram_unreachable_total";
pub const SLOT_WAIT: &str = "send_slot_wait_seconds";

/// Buckets for slot waits: from "sent at once" to "waited behind a long backlog".
const SLOT_WAIT_BUCKETS: [f64; 10] = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process. `None` if another recorder was installed first
/// (then `/metrics` says so and the counters go to that recorder).
fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Full(SLOT_WAIT.to_owned()),
                    &SLOT_WAIT_BUCKETS,
                )
                .map_err(|error| tracing::warn!(%error, "slot wait buckets refused"))
                .unwrap_or_else(|()| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "another metrics recorder is installed; /metrics stays empty");
                    None
                }
            }
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(SENT, "Notifications Telegram accepted, by kind");
    metrics::describe_counter!(SKIPPED, "Notifications not sent, by reason");
    metrics::describe_counter!(TOO_MANY_REQUESTS, "429 answers from Telegram");
    metrics::describe_counter!(UNREACHABLE, "Chats Telegram refused (blocked, not found)");
    metrics::describe_histogram!(SLOT_WAIT, "Seconds a message waited for its send slot");
}

/// `GET /metrics` in Prometheus' text format.
pub fn router() -> Router {
    // Install at start, so the first scrape already lists every described metric.
    let _ = handle();
    Router::new().route("/metrics", get(render))
}

async fn render() -> impl IntoResponse {
    let body = match handle() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => "# another metrics recorder is installed in this process\n".to_owned(),
    };
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

pub fn sent(kind: &'static str) {
    metrics::counter!(SENT, "kind" => kind).increment(1);
}

pub fn skipped(reason: &'static str) {
    metrics::counter!(SKIPPED, "reason" => reason).increment(1);
}

pub fn too_many_requests() {
    metrics::counter!(TOO_MANY_REQUESTS).increment(1);
}

pub fn unreachable() {
    metrics::counter!(UNREACHABLE).increment(1);
}

pub fn slot_wait(wait: std::time::Duration) {
    metrics::histogram!(SLOT_WAIT).record(wait.as_secs_f64());
}

//! Prometheus metrics for every service: one recorder per process, `GET /metrics` (served
//! next to `/healthz` by [`crate::health::router`]), and the metrics the platform itself
//! measures:
//!
//! - `http_requests_total{method,route,status}` and `http_request_duration_seconds{..}`:
//!   every HTTP request a service answers, by its *matched* route (`/orders/{id}`, never
//!   the raw path, which may carry tokens), `unmatched` when no route matched;
//! - `service_ready` (1 or 0) and `service_ready_check{check}`: what `/readyz` would say,
//!   evaluated on each scrape;
//! - `db_pool_connections{state}` (`in_use`, `idle`) and `db_pool_max_connections`;
//! - `s3_bytes_total{direction}` (`upload`, `download`) and `s3_part_seconds{operation}`
//!   (`part`, `put`: the time of one upload request).
//!
//! The event bus's metrics are described in `bureau_event_bus::metrics`; services add their
//! own (the notifier's Telegram sends). The `metrics` facade has one global recorder, so
//! several services in one test process share it and their counts add up.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_SECONDS: &str = "http_request_duration_seconds";
pub const READY: &str = "service_ready";
pub const READY_CHECK: &str = "service_ready_check";
pub const POOL_CONNECTIONS: &str = "db_pool_connections";
pub const POOL_MAX: &str = "db_pool_max_connections";
pub const S3_BYTES: &str = "s3_bytes_total";
pub const S3_PART_SECONDS: &str = "s3_part_seconds";

/// Latency buckets for every histogram: 1 ms to 1 minute.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

/// How often the database pool's use is read.
const POOL_SAMPLE_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (later calls return the same handle). `None` if
/// another recorder was installed first; the counters then go to that one. `buckets` are
/// a service's own histogram buckets, by full metric name, applied by the first call only.
pub fn install(buckets: &[(&str, &[f64])]) -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let mut builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
                .expect("fixed buckets are not empty");
            for (name, values) in buckets.iter().filter(|(_, values)| !values.is_empty()) {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full((*name).to_owned()), values)
                    .expect("buckets are not empty");
            }
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
    metrics::describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by matched route and status"
    );
    metrics::describe_histogram!(
        HTTP_SECONDS,
        "Seconds to answer an HTTP request (to its headers)"
    );
    metrics::describe_gauge!(READY, "1 when every readiness check passes, else 0");
    metrics::describe_gauge!(READY_CHECK, "1 when this readiness check passes, else 0");
    metrics::describe_gauge!(POOL_CONNECTIONS, "Database connections open, by state");
    metrics::describe_gauge!(POOL_MAX, "The database pool's size limit");
    metrics::describe_counter!(S3_BYTES, "Bytes moved to or from the object store");
    metrics::describe_histogram!(
        S3_PART_SECONDS,
        "Seconds one upload request (part or whole object) took"
    );
    bureau_event_bus::metrics::describe();
}

/// The text `/metrics` answers with, after the readiness checks were recorded.
pub async fn render(readiness: &crate::health::Readiness) -> Response {
    let Some(handle) = install(&[]) else {
        return "# another metrics recorder is installed in this process\n".into_response();
    };
    let (ready, checks) = readiness.results().await;
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
    for (check, ok) in checks {
        metrics::gauge!(READY_CHECK, "check" => check).set(if ok { 1.0 } else { 0.0 });
    }
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Middleware counting each request by its matched route, method and status, with its
/// latency, and running it in its span (`telemetry::http_span`, which continues the
/// caller's trace). Applied by [`crate::health::serve`] to every route a service serves.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let span = crate::telemetry::http_span(&method, &route, request.headers());
    let started = Instant::now();
    let response = next.run(request).instrument(span).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_SECONDS, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// Reads the pool's use every few seconds until `shutdown` fires or the pool is closed.
pub fn watch_pool(pool: &MySqlPool, shutdown: &CancellationToken) {
    let pool = pool.clone();
    let shutdown = shutdown.clone();
    metrics::gauge!(POOL_MAX).set(f64::from(pool.options().get_max_connections()));
    tokio::spawn(async move {
        loop {
            if pool.is_closed() {
                break;
            }
            let size = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
            metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(size - idle));
            metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
            if !bureau_kit::retry::pause(POOL_SAMPLE_EVERY, &shutdown).await {
                break;
            }
        }
    });
}

/// Bytes moved to (`upload`) or from (`download`) the object store.
pub fn s3_bytes(direction: &'static str, bytes: usize) {
    metrics::counter!(S3_BYTES, "direction" => direction).increment(bytes as u64);
}

/// One upload request's time: a multipart `part` or a single `put`.
pub fn s3_request(operation: &'static str, took: Duration) {
    metrics::histogram!(S3_PART_SECONDS, "operation" => operation).record(took.as_secs_f64());
}

//! `/healthz` (the process is alive) and `/readyz` (its dependencies answer), and the HTTP
//! server every service runs them on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::{Json, Router, http::StatusCode, routing::get};
use bureau_event_bus::EventBus;
use futures::future::{BoxFuture, join_all};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use serde_json::json;
use sqlx::MySqlPool;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use crate::object_store::ObjectStore;
use crate::settings::HttpSettings;

type Check = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// The named checks `/readyz` runs, each with a deadline.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

impl Readiness {
    pub fn new() -> Self {
        Readiness::default()
    }

    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// Ready when the broker connection is up (reconnecting if it was lost).
    pub fn broker(self, bus: Arc<EventBus>) -> Self {
        self.check("broker", move || {
            let bus = bus.clone();
            async move { bus.connect().await.map_err(|e| e.to_string()) }
        })
    }

    pub fn database(self, pool: MySqlPool) -> Self {
        self.check("database", move || {
            let pool = pool.clone();
            async move {
                crate::database::ping(&pool)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
    }

    pub fn object_store(self, store: ObjectStore) -> Self {
        self.check("object_store", move || {
            let store = store.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        })
    }

    /// Runs every check; returns whether all passed and whether each did.
    pub async fn results(&self) -> (bool, Vec<(&'static str, bool)>) {
        let results = self.run().await;
        let ready = results.iter().all(|(_, outcome)| outcome.is_ok());
        let checks = results
            .into_iter()
            .map(|(name, outcome)| (name, outcome.is_ok()))
            .collect();
        (ready, checks)
    }

    async fn run(&self) -> Vec<(&'static str, Result<(), String>)> {
        join_all(self.checks.iter().map(|(name, check)| async move {
            let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
            };
            (*name, outcome)
        }))
        .await
    }

    /// Runs every check; returns whether all passed and a per-check report.
    pub async fn report(&self) -> (bool, serde_json::Value) {
        let results = self.run().await;
        let ready = results.iter().all(|(_, outcome)| outcome.is_ok());
        let checks: serde_json::Map<String, serde_json::Value> = results
            .into_iter()
            .map(|(name, outcome)| {
                let value = match outcome {
                    Ok(()) => json!({"ok": true}),
                    Err(error) => json!({"ok": false, "error": error}),
                };
                (name.to_owned(), value)
            })
            .collect();
        (ready, json!({"ready": ready, "checks": checks}))
    }
}

/// `/healthz` and a `/readyz` that says only `{"ready": true|false}` (200 or 503): for a
/// port the public reaches, where host names and raw errors would tell an attacker how the
/// service is built. The detail is for operators ([`Readiness::report`], behind sign-in).
pub fn public_router(readiness: Readiness) -> Router {
    metrics_route(readiness.clone())
        .route("/healthz", get(|| async { Json(json!({"alive": true})) }))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    let (ready, _) = readiness.report().await;
                    let status = if ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, Json(json!({"ready": ready})))
                }
            }),
        )
}

/// `/metrics` (Prometheus, with the readiness checks as gauges as 0/1, never their
/// errors): counts and latencies only, so it stays on public ports too.
fn metrics_route(readiness: Readiness) -> Router {
    crate::metrics::install(&[]);
    Router::new().route(
        "/metrics",
        get(move || {
            let readiness = readiness.clone();
            async move { crate::metrics::render(&readiness).await }
        }),
    )
}

/// `/healthz`, `/readyz` with every check's outcome and `/metrics` (Prometheus, with the
/// readiness checks as gauges), for ports only operators reach; merge a service's own
/// routes into it.
pub fn router(readiness: Readiness) -> Router {
    metrics_route(readiness.clone())
        .route("/healthz", get(|| async { Json(json!({"alive": true})) }))
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    let (ready, body) = readiness.report().await;
                    let status = if ready {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, Json(body))
                }
            }),
        )
}

/// Serves `app` with the default timeouts and caps ([`HttpSettings::default`]).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_with(listener, app, &HttpSettings::default(), shutdown).await
}

/// Serves `app` until `shutdown` fires, then lets open requests finish. Every request is
/// counted by its matched route (`http_requests_total`) and carries the client's address
/// (`ConnectInfo<SocketAddr>`).
///
/// Unlike a bare `axum::serve`, hyper gets a timer here, so its header-read timeout works
/// (a request head that trickles in, or a kept-alive connection that sends no next
/// request, is closed after `header_read_timeout_secs`); request bodies that send nothing
/// for `body_stall_timeout_secs` fail; and at most `max_connections` are open at once.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: &HttpSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn(crate::metrics::track_http));
    let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = TaskTracker::new();
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs.max(1));
    let body_stall = Duration::from_secs(limits.body_stall_timeout_secs.max(1));
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let Ok(slot) = open.clone().try_acquire_owned() else {
            tracing::debug!(%remote, "connection cap reached; closing a new connection");
            drop(stream);
            continue;
        };
        let app = app.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let mut request = request.map(|body| Body::new(TimeoutBody::new(body_stall, body)));
                request.extensions_mut().insert(ConnectInfo(remote));
                app.clone().oneshot(request)
            });
            let mut builder = ConnectionBuilder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            builder
                .http2()
                .timer(TokioTimer::new())
                .keep_alive_interval(header_timeout);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

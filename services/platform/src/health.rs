//! `/healthz` (the process is alive) and `/readyz` (its dependencies answer), and the HTTP
//! server every service runs them on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::{Json, Router, http::StatusCode, routing::get};
use bureau_event_bus::EventBus;
use futures::future::{BoxFuture, join_all};
use serde_json::json;
use sqlx::MySqlPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::object_store::ObjectStore;

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

/// `/healthz`, `/readyz` and `/metrics` (Prometheus, with the readiness checks as
/// gauges); merge a service's own routes into it.
pub fn router(readiness: Readiness) -> Router {
    crate::metrics::install(&[]);
    let scraped = readiness.clone();
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let readiness = scraped.clone();
                async move { crate::metrics::render(&readiness).await }
            }),
        )
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

/// Serves `app` until `shutdown` fires, then lets open requests finish. Every request is
/// counted by its matched route (`http_requests_total`) and carries the client's address
/// (`ConnectInfo<SocketAddr>`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn(crate::metrics::track_http));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}

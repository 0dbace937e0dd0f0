//! Migrations at start, without holding the start up: they run in the background and are
//! retried with backoff until the database takes them, so a gateway started while MySQL is
//! down brings the schema up to date by itself once MySQL is back. `/readyz` reports
//! "schema" not ready until then, so no traffic is sent to a gateway whose tables may be
//! missing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bureau_platform::database;
use sqlx::MySqlPool;
use tokio_util::sync::CancellationToken;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);

/// Whether the schema is known to be current; shared with the readiness check.
#[derive(Clone)]
pub struct SchemaStatus {
    /// `None` once migrated; otherwise why not yet.
    pending: Arc<Mutex<Option<String>>>,
}

impl SchemaStatus {
    /// For deployments that migrate by other means (`run_migrations = false`).
    pub fn assumed_current() -> SchemaStatus {
        SchemaStatus {
            pending: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts migrating in the background; gives up only when `shutdown` fires.
    pub fn migrate_in_background(pool: MySqlPool, shutdown: CancellationToken) -> SchemaStatus {
        let status = SchemaStatus {
            pending: Arc::new(Mutex::new(Some("migrations have not run yet".into()))),
        };
        let reporter = status.clone();
        tokio::spawn(async move {
            let mut delay = FIRST_RETRY;
            loop {
                match database::migrate(&pool).await {
                    Ok(()) => {
                        reporter.set(None);
                        tracing::info!("database schema is current");
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, retry_in = ?delay, "migrations not run yet; the database may be down");
                        reporter.set(Some(format!("migrations not run yet: {error}")));
                    }
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(LAST_RETRY);
            }
        });
        status
    }

    /// The readiness check: `Ok` once the schema is current.
    pub fn check(&self) -> Result<(), String> {
        match self.pending.lock() {
            Ok(pending) => pending.clone().map_or(Ok(()), Err),
            Err(_) => Err("schema status unknown".into()),
        }
    }

    fn set(&self, pending: Option<String>) {
        if let Ok(mut slot) = self.pending.lock() {
            *slot = pending;
        }
    }
}

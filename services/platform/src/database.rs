//! MySQL access: the pool and the embedded migrations from `migrations/`.

use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};

use crate::settings::DatabaseSettings;

/// The schema, embedded at build time from the repository's `migrations/` folder.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A pool that connects lazily: a service starts (and reports "not ready") while MySQL is
/// down, and connects when it comes back.
pub fn pool(settings: &DatabaseSettings) -> Result<MySqlPool, sqlx::Error> {
    let options: MySqlConnectOptions = settings.url.expose().parse()?;
    Ok(MySqlPoolOptions::new()
        .max_connections(settings.max_connections.max(1))
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.charset("utf8mb4").timezone(Some("+00:00".into()))))
}

pub async fn migrate(pool: &MySqlPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

pub async fn ping(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// Applies migrations, retrying with backoff while MySQL is unreachable; gives up when
/// `shutdown` fires. Every service may run them: sqlx serialises runs with a database lock.
pub async fn migrate_when_reachable(pool: &MySqlPool, shutdown: &tokio_util::sync::CancellationToken) {
    let mut delay = Duration::from_millis(250);
    while !shutdown.is_cancelled() {
        match migrate(pool).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(%error, ?delay, "migrations not applied yet; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

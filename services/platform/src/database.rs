//! MySQL access: the pool, the embedded migrations from `migrations/`, and the one way to
//! apply them once MySQL answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bureau_kit::retry::{self, Backoff};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use tokio_util::sync::CancellationToken;

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

/// The named lock that lets one process at a time apply migrations.
const MIGRATION_LOCK: &str = "bureau.migrations";
/// How long a process waits for another one's migrations before trying again later.
const MIGRATION_LOCK_WAIT_SECS: i64 = 60;

/// Applies the migrations not applied yet, one process at a time.
///
/// sqlx's own lock is `GET_LOCK(name, -1)`, and it ignores the answer. MariaDB answers a
/// negative timeout at once with NULL instead of waiting (checked on 10.11), so services
/// starting together would apply the same migration at once; MySQL's DDL is not
/// transactional, and the loser leaves it marked half-applied ("dirty") for good. So a
/// named lock of our own, with a finite wait, is taken first on the very connection sqlx
/// then migrates on (named locks belong to the session).
pub async fn migrate(pool: &MySqlPool) -> Result<(), sqlx::migrate::MigrateError> {
    let mut connection = pool.acquire().await?;
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
        .bind(MIGRATION_LOCK)
        .bind(MIGRATION_LOCK_WAIT_SECS)
        .fetch_one(&mut *connection)
        .await?;
    if locked != Some(1) {
        return Err(sqlx::migrate::MigrateError::Execute(sqlx::Error::Protocol(
            format!(
                "another process has been applying migrations for over {MIGRATION_LOCK_WAIT_SECS} s"
            ),
        )));
    }
    // `run_direct` rather than `run`: `run`'s `Acquire` bound makes the future fail `Send`
    // inside `tokio::spawn` (the workaround sqlx itself documents on it).
    let applied = MIGRATOR.run_direct(None, &mut *connection, false).await;
    if let Err(error) = sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *connection)
        .await
    {
        // The lock goes with the session; closing it frees the lock for the others.
        tracing::warn!(%error, "migration lock not released; closing its connection");
        connection.close_on_drop();
    }
    applied
}

pub async fn ping(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

/// Pauses between tries while MySQL does not take the migrations: 250 ms doubling to 10 s.
const MIGRATION_BACKOFF: Backoff =
    Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

/// Applies migrations, retrying with backoff while MySQL is unreachable; gives up when
/// `shutdown` fires. `true` once the schema is current. Every service may run them: the
/// migration lock lets one process at a time apply them. This is the one way a service
/// migrates once MySQL answers; [`SchemaStatus::migrate_when_reachable`] does the same and
/// tells `/readyz` how it went.
pub async fn migrate_when_reachable(pool: &MySqlPool, shutdown: &CancellationToken) -> bool {
    SchemaStatus::pending()
        .migrate_when_reachable(pool, shutdown)
        .await
}

/// Whether the schema is known to be current, for a readiness check: a service that
/// migrates in the background reports "schema" not ready until it has, so no traffic is
/// sent to it while its tables may be missing.
#[derive(Debug, Clone)]
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

    /// Not migrated yet.
    pub fn pending() -> SchemaStatus {
        SchemaStatus {
            pending: Arc::new(Mutex::new(Some("migrations have not run yet".into()))),
        }
    }

    /// Applies the migrations as [`migrate_when_reachable`] does, recording each failure and
    /// the success here.
    pub async fn migrate_when_reachable(
        &self,
        pool: &MySqlPool,
        shutdown: &CancellationToken,
    ) -> bool {
        let migrated =
            retry::until_done("apply migrations", MIGRATION_BACKOFF, shutdown, || async {
                let outcome = migrate(pool).await;
                if let Err(error) = &outcome {
                    self.set(Some(format!("migrations not run yet: {error}")));
                }
                outcome
            })
            .await
            .is_some();
        if migrated {
            self.set(None);
            tracing::info!("database schema is current");
        }
        migrated
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

//! The web gateway: the HTTP front door for web customers and staff.
//!
//! Customers register, log in and place orders with files of any size; the files stream
//! into staging in the object store and the order travels to the other services as events
//! (`OrderCreated`, `FileReceived`), confirmed by the broker before the customer hears
//! "accepted". Staff list orders and ask for status changes (customers answer price quotes
//! the same way), published as `OrderStatusChangeRequested` and decided by the persistence
//! worker. Reads come from MySQL, written by the persistence worker.
//!
//! [`start`] is what the binary and the end-to-end tests run. Accounts (registration, login,
//! staff made by the operator's command) are `bureau-accounts`.

pub mod account_mail;
pub mod domain;
pub mod holds;
mod http;
mod idempotency;
mod intake;
pub mod office;
pub mod portal;
mod queries;
/// The back office's reads, for `bench-office`'s baseline (the pages' SQL timed alone).
pub use queries::office as office_reads;
mod quotas;
mod sessions;
mod sign_in_guard;
mod status_requests;

use std::sync::Arc;

use anyhow::Context;
use bureau_platform::database::{self, SchemaStatus};
use bureau_platform::health::{self, Readiness};
use bureau_platform::object_store::ObjectStore;
use bureau_platform::order_numbers::OrderNumbers;
use bureau_platform::outbox::{Relay, RelaySettings};
use bureau_platform::service::Running;
use bureau_platform::{Settings, bus};
use proto_events::Service;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::http::AppState;

/// This service, by its contract name.
pub const SERVICE: Service = Service::WebGateway;

/// How long a graceful stop waits for background tasks to give their database connections
/// back.
const POOL_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Binds the listener, serves until `shutdown` fires, and returns at once. Starts even
/// when MySQL, the broker or the object store is down: `/readyz` says not ready (and
/// `GET /api/admin/readiness` which, to an admin), and each dependency is retried on use.
pub async fn start(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Running> {
    start_with(settings, shutdown, holds::Sweeping::default()).await
}

/// [`start`], with the clock and pace of the sweep of unplaced holds given (tests move it).
pub async fn start_with(
    settings: Settings,
    shutdown: CancellationToken,
    sweeping: holds::Sweeping,
) -> anyhow::Result<Running> {
    let pool = database::pool(&settings.database).context("database settings")?;
    bureau_platform::metrics::watch_pool(&pool, &shutdown);
    let bus = bus::event_bus(&settings.broker, SERVICE.name());
    let store = ObjectStore::new(&settings.storage);

    // Migrations run in the background, so the gateway answers (not ready) while MySQL is
    // down and brings the schema up to date by itself once MySQL is back.
    let schema = if settings.database.run_migrations {
        let schema = SchemaStatus::pending();
        tokio::spawn({
            let (schema, pool, shutdown) = (schema.clone(), pool.clone(), shutdown.clone());
            async move { schema.migrate_when_reachable(&pool, &shutdown).await }
        });
        schema
    } else {
        SchemaStatus::assumed_current()
    };
    // Both are only conveniences for a fresh machine, so they run in the background and
    // must not hold up the start: the bus connects on first publish anyway.
    tokio::spawn({
        let (store, bus) = (store.clone(), bus.clone());
        async move {
            if let Err(error) = store.ensure_bucket().await {
                tracing::warn!(%error, "could not make sure the bucket exists");
            }
            if let Err(error) = bus.connect().await {
                tracing::warn!(%error, "broker not reachable yet");
            }
        }
    });

    let readiness = Readiness::new()
        .broker(bus.clone())
        .database(pool.clone())
        .object_store(store.clone())
        .check("schema", move || {
            let schema = schema.clone();
            async move { schema.check() }
        });
    // The bookings' events (customers', staff's, expired holds') are written into the
    // outbox with the change; this publishes them, and every replica runs one.
    let outbox = Relay::start(
        pool.clone(),
        bus.clone(),
        RelaySettings::for_service(SERVICE.name()),
        shutdown.clone(),
    );
    holds::start(pool.clone(), outbox.clone(), sweeping, shutdown.clone());
    let listener = TcpListener::bind(settings.web_gateway.listen)
        .await
        .with_context(|| format!("binding {}", settings.web_gateway.listen))?;
    let http_addr = listener.local_addr()?;
    let http_limits = settings.http.clone();
    let state = AppState {
        order_numbers: OrderNumbers::start(pool.clone(), &settings.order_numbers),
        live: http::LiveHub::start(
            bus.clone(),
            shutdown.clone(),
            settings.web_gateway.live.clone(),
        ),
        sign_in: Arc::new(http::SignInGuard::new(&settings.web_gateway.sign_in)),
        account_mail: account_mail::AccountMail::from_settings(&settings).context("[mail]")?,
        pool: pool.clone(),
        bus: bus.clone(),
        outbox,
        store,
        settings: Arc::new(settings),
    };
    state.live.follow_account_ends(pool.clone());
    state.live.announce_when_recorded(pool.clone());
    let app = http::with_request_layers(
        health::public_router(readiness.clone()).merge(http::router(state, readiness)),
    );
    tracing::info!(%http_addr, "web gateway listening");

    let task = tokio::spawn(async move {
        // Graceful: stops accepting, lets requests in flight (uploads too) finish.
        health::serve_with(listener, app, &http_limits, shutdown)
            .await
            .context("HTTP server")?;
        bus.close().await;
        // Background tasks (the outbox relay, the holds sweeper, the live hub's lookups) end
        // on the same token but are not joined here; one still holding a connection must
        // not keep the process from stopping (seen once in CI: a stop over 30 s). Its
        // connection is dropped with the process.
        if tokio::time::timeout(POOL_CLOSE_WAIT, pool.close())
            .await
            .is_err()
        {
            tracing::warn!(
                wait = ?POOL_CLOSE_WAIT,
                "database connections still held at shutdown; stopping without them"
            );
        }
        tracing::info!("web gateway stopped");
        Ok(())
    });
    Ok(Running { http_addr, task })
}

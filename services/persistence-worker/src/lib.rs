//! The persistence worker: the one writer of orders to MySQL.
//!
//! It consumes every order event and records it in the same transaction as the event's id
//! in the inbox, so a redelivered event changes nothing; events come in batches, many to
//! one transaction: new orders and their files set-based (see `sets`), other events each in
//! its own savepoint (see `handler`). Status changes arrive as requests
//! (`OrderStatusChangeRequested`): it decides each once, as a compare-and-set on the
//! order's status version, and publishes the outcome (`OrderStatusChanged` or
//! `OrderStatusChangeRefused`) after the commit (see `decisions`). It starts while MySQL is
//! down, applies migrations once it is reachable, and only then takes events.

mod decisions;
mod handler;
mod records;
mod sets;

use std::sync::Arc;

use bureau_event_bus::Batching;
use bureau_platform::service::Running;
use bureau_platform::{Settings, bus, database, health};
use proto_events::Service;
use proto_events::topology::Consumer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use handler::PersistenceHandler;

/// This service, by its contract name: its queue, its inbox consumer, its logs.
pub const SERVICE: Service = Service::PersistenceWorker;

pub async fn start(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let pool = database::pool(&settings.database)?;
    bureau_platform::metrics::watch_pool(&pool, &shutdown);
    let bus = bus::event_bus(&settings.broker, SERVICE.name());
    let readiness = health::Readiness::new()
        .broker(bus.clone())
        .database(pool.clone());
    let listener = TcpListener::bind(settings.persistence_worker.listen).await?;
    let http_addr = listener.local_addr()?;
    let http = tokio::spawn(health::serve(
        listener,
        health::router(readiness),
        shutdown.clone(),
    ));

    let task = tokio::spawn(async move {
        if settings.database.run_migrations {
            database::migrate_when_reachable(&pool, &shutdown).await;
        }
        if !shutdown.is_cancelled() {
            let worker = &settings.persistence_worker;
            let handler = Arc::new(
                PersistenceHandler::new(pool.clone(), bus.clone()).with_lanes(worker.lanes),
            );
            let batching = Batching {
                max_events: worker.batch_max_events,
                max_wait: worker.batch_max_wait(),
                in_flight: worker.concurrency,
            };
            bus.clone()
                .consume_batches(
                    Consumer::PersistenceWorker,
                    handler,
                    batching,
                    shutdown.clone(),
                )
                .await;
        }
        bus.close().await;
        pool.close().await;
        http.await??;
        Ok(())
    });
    Ok(Running { http_addr, task })
}

//! The storage worker: brings every received file's bytes from where they are (Telegram,
//! or the web gateway's staging area) into the object store, verified, and announces the
//! outcome as `FileStored` or `FileRejected`.
//!
//! [`start`] is the whole service, so tests run it in-process; `main.rs` only adds
//! settings, logs and signals around it.

mod announce;
mod file_name;
mod handler;
mod measure;
mod sources;
pub mod staged;
pub mod sweep;
mod telegram;
mod verdict;

use std::sync::Arc;

use anyhow::Context;
use bureau_platform::object_store::ObjectStore;
use bureau_platform::service::Running;
use bureau_platform::{Settings, bus, health};
use proto_events::Service;
use proto_events::topology::Consumer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use file_name::{object_key, object_key_for, safe_name};
pub use verdict::{DEFAULT_REFUSED_CONTENT_TYPES, MAX_FILE_BYTES};

use crate::handler::StoreReceivedFiles;
use crate::sources::FileSources;
use crate::telegram::TelegramFiles;

/// This service, by its contract name.
pub const SERVICE: Service = Service::StorageWorker;

/// Binds the health endpoints, starts consuming `FileReceived` and returns at once. Neither
/// the broker nor the object store needs to be up: `/readyz` says so until they are, and
/// the consumer connects (and reconnects) by itself. Cancelling `shutdown` stops taking
/// events, lets uploads in flight finish, and ends `Running::task`.
pub async fn start(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let worker = &settings.storage_worker;
    let listener = TcpListener::bind(worker.listen).await.with_context(|| {
        format!(
            "binding the storage worker's HTTP listener on {}",
            worker.listen
        )
    })?;
    let http_addr = listener.local_addr()?;

    let bus = bus::event_bus(&settings.broker, SERVICE.name());
    let store = ObjectStore::new(&settings.storage);
    let telegram = TelegramFiles::new(&settings.telegram, shutdown.clone())?;
    let handler = Arc::new(StoreReceivedFiles::new(
        store.clone(),
        FileSources::new(telegram, store.clone()),
        bus.clone(),
        worker.refused_content_types.clone(),
    ));
    // Only the sweep asks MySQL (which staged files orders still expect); the worker's own
    // work needs no database, so readiness does not wait for it.
    let pool = bureau_platform::database::pool(&settings.database).context("database.url")?;
    bureau_platform::metrics::watch_pool(&pool, &shutdown);
    let sweep = sweep::SweepPolicy::from_settings(worker).map(|policy| {
        tokio::spawn(sweep::run(
            store.clone(),
            sweep::ExpectedFiles::new(pool.clone()),
            policy,
            shutdown.clone(),
        ))
    });

    let readiness = health::Readiness::new()
        .broker(bus.clone())
        .object_store(store);
    let http = tokio::spawn(health::serve(
        listener,
        health::router(readiness),
        shutdown.clone(),
    ));
    let consumer = tokio::spawn(bus.clone().consume(
        Consumer::StorageWorker,
        handler,
        worker.concurrency,
        shutdown,
    ));
    tracing::info!(%http_addr, concurrency = worker.concurrency, "storage worker started");

    let task = tokio::spawn(async move {
        consumer.await.context("the consumer task failed")?;
        if let Some(sweep) = sweep {
            sweep.await.context("the sweep task failed")?;
        }
        bus.close().await;
        pool.close().await;
        http.await
            .context("the HTTP task failed")?
            .context("the HTTP server failed")?;
        tracing::info!("storage worker stopped");
        Ok(())
    });
    Ok(Running { http_addr, task })
}

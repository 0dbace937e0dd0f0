//! The notifier: tells customers in Telegram when their order changes status, a result is
//! ready, staff wrote to them, a price was quoted (with Accept / Decline buttons), a file
//! they sent was refused, or a request of their own (a cancellation, an answer to a quote)
//! could not be made.
//!
//! It consumes the `notifier` queue (order.status.changed — only changes the persistence
//! worker recorded —, order.status.change_refused, order.file.stored,
//! order.file.rejected, order.message.posted, order.price.quoted),
//! looks the customer up in MySQL, sends in their language at the bot token's pace, shared
//! with every notifier and bot gateway replica (`bureau_platform::telegram_pace`: pushes
//! give way to replies to customers who are waiting), and journals what Telegram accepted in
//! `notifications_sent` so that a redelivered event is not sent twice and an older status
//! never follows a newer one.
//!
//! - `handler`: which events reach a customer, and the path of one notice;
//! - `recipients`, `journal`, `order_lock`: the MySQL side;
//! - `telegram`: one send and what Telegram's refusals mean;
//! - `route`, `email`: which channel a notice goes to (Telegram or e-mail, where the
//!   customer prefers and can be reached), and a notice as an e-mail (`bureau-mail`);
//! - `notice`, `texts`: the message itself;
//! - `reminders`: the reminder sender beside the consumer (bookings, unanswered quotes,
//!   unpaid invoices), from the durable schedule, with an injectable clock;
//! - `metrics`: `/metrics` for Prometheus.

mod email;
mod handler;
mod journal;
pub mod metrics;
mod notice;
mod order_lock;
mod recipients;
pub mod reminders;
mod route;
mod telegram;
mod texts;

use std::sync::Arc;

use anyhow::Context;
use bureau_platform::health::{self, Readiness};
use bureau_platform::service::Running;
use bureau_platform::{Settings, database};
use proto_events::Service;
use proto_events::topology::Consumer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use bureau_platform::object_store::ObjectStore;
use bureau_platform::telegram_pace::{Pace, SharedPace};

use crate::handler::{Notifier, ResultLinks};
use crate::reminders::Reminding;
use crate::telegram::{SendPolicy, TelegramSender};

/// This service, by its contract name.
pub const SERVICE: Service = Service::Notifier;

/// Starts the notifier and returns at once: `/healthz`, `/readyz` (broker, database) and
/// `/metrics` on `settings.notifier.listen`, and a consumer with
/// `settings.notifier.concurrency` handlers. Any number of notifiers may run against one
/// database and broker: they share the queue and Telegram's pace.
/// When `shutdown` fires it takes no new events, lets notices in flight finish, and the
/// returned task ends.
pub async fn start(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Running> {
    start_with(settings, shutdown, Reminding::default()).await
}

/// [`start`] with the reminder sender's clock, pace of looking and name given (tests move
/// the clock).
pub async fn start_with(
    settings: Settings,
    shutdown: CancellationToken,
    reminding: Reminding,
) -> anyhow::Result<Running> {
    anyhow::ensure!(
        !settings.telegram.token.is_empty(),
        "telegram.token is not set (BUREAU__TELEGRAM__TOKEN); the notifier has nothing to send with"
    );
    let pool = database::pool(&settings.database).context("database.url")?;
    let pace = Pace::from_settings(&settings.telegram);
    let telegram = TelegramSender::new(
        &settings.telegram.api_url,
        settings.telegram.token.expose(),
        SendPolicy::default(),
        SharedPace::new(pool.clone(), pace),
        ObjectStore::new(&settings.storage),
        shutdown.clone(),
    )?;
    let bus = bureau_platform::bus::event_bus(&settings.broker, SERVICE.name());
    let concurrency = settings.notifier.concurrency.max(1);
    // Each handler in flight holds one connection for its order lock and borrows another
    // for queries.
    if concurrency * 2 > settings.database.max_connections as usize {
        tracing::warn!(
            concurrency,
            max_connections = settings.database.max_connections,
            "fewer database connections than notices in flight need; handlers will wait for them"
        );
    }

    let listener = TcpListener::bind(settings.notifier.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.notifier.listen))?;
    let http_addr = listener.local_addr()?;
    metrics::install();
    bureau_platform::metrics::watch_pool(&pool, &shutdown);
    let routes = health::router(Readiness::new().broker(bus.clone()).database(pool.clone()));
    let server = tokio::spawn(health::serve(listener, routes, shutdown.clone()));

    let mailer = bureau_mail::Mailer::from_settings(&settings.mail).context("[mail]")?;
    if mailer.is_none() {
        tracing::info!("mail.host is empty: no e-mail; web-only customers hear nothing while away");
    }
    let notifier = Arc::new(Notifier::new(
        pool.clone(),
        telegram,
        ResultLinks::new(settings.clone()),
        mailer,
    ));
    let run_migrations = settings.database.run_migrations;
    let task = tokio::spawn(async move {
        if run_migrations {
            database::migrate_when_reachable(&pool, &shutdown).await;
        }
        let sender = tokio::spawn(reminders::run(
            notifier.clone(),
            reminding,
            shutdown.clone(),
        ));
        bus.clone()
            .consume(Consumer::Notifier, notifier, concurrency, shutdown)
            .await;
        bus.close().await;
        sender.await.context("the reminder sender failed")?;
        server
            .await
            .context("the health server task failed")?
            .context("the health server failed")?;
        pool.close().await;
        Ok(())
    });
    tracing::info!(%http_addr, concurrency, "notifier started");
    Ok(Running { http_addr, task })
}

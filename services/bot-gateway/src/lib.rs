//! The bot gateway: Telegram customers' way in.
//!
//! A dptree schema runs the conversation (see [`handlers`]): customers choose a service
//! from the catalogue, describe the order, attach files, check the summary and confirm (the
//! first time, registering name and phone); the gateway then publishes `OrderCreated` and
//! one `FileReceived` per file to RabbitMQ and, once the broker has confirmed them, gives
//! the customer the order number. File bytes stay in Telegram: the events carry Telegram's
//! file ids for the storage worker; files above the Bot API's download limit get a signed
//! upload link to the web gateway. Customers also list their orders, see one with its files
//! and history, ask to cancel it while allowed (`OrderStatusChangeRequested`, decided by the
//! persistence worker) and write to staff about it
//! (`OrderMessagePosted`). Conversations live in MySQL (`bot_dialogues`), so they survive
//! restarts and are shared by replicas, which take a chat's updates one at a time
//! (`bot_chat_turns`).
//!
//! Updates arrive by long polling (one instance) or by webhook on this service's own HTTP
//! listener (any number of replicas), next to `/healthz` and `/readyz`; either way Telegram
//! is told an update is done only once it is (see [`updates`]).

mod attachments;
mod buttons;
mod catalogue;
mod chat_turns;
mod desk;
mod handlers;
mod keyboards;
mod menu;
mod order_lookup;
mod phone;
mod pricing;
mod publish;
mod replies;
mod runner;
mod storage;
mod telegram;
mod updates;

// Public so tests (here and end-to-end) match the bot's words and limits, not copies of them
// (and sign calendar buttons as the bot does, to press expired and past ones).
pub mod calendar;
pub mod dialogue;
pub mod stage_times;
pub mod texts;

use std::sync::Arc;

use axum::Router;
use bureau_platform::service::Running;
use bureau_platform::{Settings, bus, database, health};
use futures::FutureExt;
use proto_events::Service;
use teloxide::dptree;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::desk::Desk;
use crate::runner::BotRunner;
use crate::telegram::{Delivery, TelegramConfig};
use crate::texts::Texts;
use crate::updates::webhook::HandlingSlot;

/// How long a graceful stop waits for the chats' turns still held to be given back.
const TURNS_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// This service, by its contract name.
pub const SERVICE: Service = Service::BotGateway;

/// Starts the gateway and returns once its HTTP listener is bound; the bot connects to
/// Telegram, MySQL and RabbitMQ in the background, retrying until they answer. When
/// `shutdown` fires it stops taking updates, finishes those in flight, and `task` ends.
pub async fn start(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let telegram = TelegramConfig::from_settings(&settings.telegram)?;
    let pool = database::pool(&settings.database)?;
    bureau_platform::metrics::watch_pool(&pool, &shutdown);
    let bus = bus::event_bus(&settings.broker, SERVICE.name());
    let texts = Arc::new(Texts::load());
    let settings = Arc::new(settings);

    let desk = Arc::new(Desk::new(
        pool.clone(),
        bus.clone(),
        texts.clone(),
        settings.clone(),
        shutdown.clone(),
    ));
    let turns = desk.turns.clone();
    let runner = BotRunner {
        bot: telegram.bot(pool.clone()),
        dependencies: dptree::deps![desk],
        texts,
        migrate: settings.database.run_migrations.then(|| pool.clone()),
        shutdown: shutdown.clone(),
    };
    let (bot_routes, bot_task) = match telegram.delivery {
        Delivery::Polling => (Router::new(), runner.poll().boxed()),
        Delivery::Webhook(setup) => {
            let slot = HandlingSlot::default();
            (
                updates::webhook::routes(&setup, slot.clone()),
                runner.serve_webhook(setup, slot).boxed(),
            )
        }
    };

    let readiness = health::Readiness::new()
        .broker(bus.clone())
        .database(pool.clone());
    // In webhook mode this listener faces the internet (Telegram posts to it): `/readyz`
    // says only ready or not; which check failed, and why, is in the logs and `/metrics`.
    let app = health::public_router(readiness).merge(bot_routes);
    let listener = TcpListener::bind(settings.bot_gateway.listen).await?;
    let http_addr = listener.local_addr()?;
    // Stops with the service, or alone if the bot gives up, so that the service ends and its
    // supervisor notices instead of a gateway that answers /healthz but no customer.
    let http_stop = shutdown.child_token();
    let http = tokio::spawn(health::serve(listener, app, http_stop.clone()));
    tracing::info!(%http_addr, "bot gateway listening");

    let task = tokio::spawn(async move {
        let bot_outcome = bot_task.await;
        if let Err(error) = &bot_outcome {
            tracing::error!(%error, "the bot stopped");
        }
        // In webhook mode, requests in flight finish as this server stops.
        http_stop.cancel();
        let http_outcome = http.await;
        // Album answers still running hold chats' turns: give them back while the pool is
        // open, or the other replica would wait for them to expire.
        turns.given_back(TURNS_PATIENCE).await;
        bus.close().await;
        pool.close().await;
        bot_outcome?;
        http_outcome??;
        Ok(())
    });
    Ok(Running { http_addr, task })
}

/// What the handlers are given: one [`Desk`] (see [`handlers`]); `start` builds its own to
/// keep a handle on the chats' turns.
#[cfg(test)]
pub(crate) fn dependencies(
    pool: sqlx::MySqlPool,
    bus: Arc<bureau_event_bus::EventBus>,
    texts: Arc<Texts>,
    settings: Arc<Settings>,
) -> teloxide::dptree::di::DependencyMap {
    dptree::deps![Arc::new(Desk::new(
        pool,
        bus,
        texts,
        settings,
        CancellationToken::new()
    ))]
}

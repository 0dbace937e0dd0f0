//! The bot's life: wait for what it needs (the schema in MySQL, Telegram answering), tell
//! Telegram how to deliver updates, then dispatch them until the shutdown token fires, and
//! let the updates in flight finish.
//!
//! Everything here retries with backoff instead of failing: a gateway started while
//! Telegram or MySQL is unreachable starts serving once they are back.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bureau_platform::database;
use sqlx::MySqlPool;
use teloxide::dispatching::{Dispatcher, ShutdownToken};
use teloxide::dptree::di::DependencyMap;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, BotCommand};
use teloxide::update_listeners::{Polling, UpdateListener};
use tokio_util::sync::CancellationToken;

use crate::dialogue::Language;
use crate::handlers::{self, HandlerError};
use crate::telegram::{GatewayBot, WebhookSetup};
use crate::texts::{Texts, key};

/// How long one `getUpdates` waits for news; below teloxide's 17 s HTTP timeout.
const POLL_TIMEOUT: Duration = Duration::from_secs(10);

/// The update kinds the schema handles. Webhook mode passes them to `setWebhook` itself
/// (polling learns them from the schema), so Telegram does not send what we would ignore.
const ALLOWED_UPDATES: [AllowedUpdate; 2] = [AllowedUpdate::Message, AllowedUpdate::CallbackQuery];

pub struct BotRunner {
    pub bot: GatewayBot,
    pub dependencies: DependencyMap,
    pub texts: Arc<Texts>,
    /// Set when this service applies migrations before taking updates.
    pub migrate: Option<MySqlPool>,
    pub shutdown: CancellationToken,
}

impl BotRunner {
    /// Long polling: the single-instance mode.
    pub async fn poll(self) -> anyhow::Result<()> {
        if !self.prepare().await {
            return Ok(());
        }
        // Telegram refuses getUpdates while a webhook is set.
        let bot = self.bot.clone();
        let deleted = self
            .until_done("delete the webhook", || bot.delete_webhook().send())
            .await;
        if deleted.is_none() {
            return Ok(());
        }
        let updates = Polling::builder(self.bot.clone())
            .timeout(POLL_TIMEOUT)
            .build();
        self.dispatch(updates).await
    }

    /// Webhook: `updates` is fed by the webhook route on our HTTP listener.
    pub async fn serve_webhook<L>(self, setup: WebhookSetup, updates: L) -> anyhow::Result<()>
    where
        L: UpdateListener + Send,
        L::Err: std::fmt::Debug + Send + 'static,
    {
        if !self.prepare().await {
            return Ok(());
        }
        let bot = self.bot.clone();
        // Every replica sets the same URL and secret: repeating it is harmless.
        let set = self
            .until_done("set the webhook", || {
                bot.set_webhook(setup.url.clone())
                    .secret_token(setup.secret.clone())
                    .allowed_updates(ALLOWED_UPDATES)
                    .send()
            })
            .await;
        if set.is_none() {
            return Ok(());
        }
        tracing::info!(url = %setup.url, "webhook set");
        self.dispatch(updates).await
    }

    /// Migrations, then Telegram answering and knowing our commands. `false` when shutdown
    /// came first.
    async fn prepare(&self) -> bool {
        if let Some(pool) = &self.migrate
            && self
                .until_done("apply migrations", || database::migrate(pool))
                .await
                .is_none()
        {
            return false;
        }
        let bot = self.bot.clone();
        let Some(me) = self
            .until_done("reach the Bot API", || bot.get_me().send())
            .await
        else {
            return false;
        };
        tracing::info!(bot = %me.username(), "connected to the Bot API");
        self.register_commands().await;
        true
    }

    /// The command list Telegram shows in its menu, per language. Cosmetic: a failure is
    /// logged and the bot works without it.
    async fn register_commands(&self) {
        for language in [Language::Uk, Language::En] {
            let commands = [
                ("start", key::COMMAND_START),
                ("orders", key::COMMAND_ORDERS),
                ("status", key::COMMAND_STATUS),
                ("language", key::COMMAND_LANGUAGE),
                ("profile", key::COMMAND_PROFILE),
                ("cancel", key::COMMAND_CANCEL),
                ("help", key::COMMAND_HELP),
            ]
            .map(|(command, key)| BotCommand::new(command, self.texts.get(language, key)));
            let request = self.bot.set_my_commands(commands);
            // Ukrainian is the default list; English is shown to English-speaking clients.
            let request = match language {
                Language::Uk => request,
                Language::En => request.language_code(language.tag()),
            };
            if let Err(error) = request.send().await {
                tracing::warn!(%error, language = language.tag(), "could not register the bot's commands");
            }
        }
    }

    async fn dispatch<L>(&self, updates: L) -> anyhow::Result<()>
    where
        L: UpdateListener + Send,
        L::Err: std::fmt::Debug + Send + 'static,
    {
        let mut dispatcher = Dispatcher::builder(self.bot.clone(), handlers::schema())
            .dependencies(self.dependencies.clone())
            .default_handler(|update| async move {
                tracing::debug!(
                    update_id = update.id.0,
                    "update ignored: nothing handles it"
                );
            })
            .error_handler(Arc::new(|error: HandlerError| async move {
                tracing::error!(%error, "handling an update failed");
            }))
            .build();
        let stop = dispatcher.shutdown_token();
        let listener_errors = Arc::new(|error: L::Err| async move {
            tracing::warn!(?error, "receiving updates failed; retrying");
        });
        tracing::info!("taking updates");
        let dispatching = dispatcher.try_dispatch_with_listener(updates, listener_errors);
        tokio::pin!(dispatching);
        tokio::select! {
            finished = &mut dispatching => return finished.map_err(Into::into),
            () = self.shutdown.cancelled() => {}
        }
        tracing::info!("no longer taking updates; finishing those in flight");
        stop_dispatching(&stop, &mut dispatching)
            .await
            .map_err(Into::into)
    }

    /// Runs `attempt` until it succeeds, backing off from 250 ms to 10 s between tries;
    /// `None` if shutdown came first.
    async fn until_done<T, E, F, Fut>(&self, what: &str, mut attempt: F) -> Option<T>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut delay = Duration::from_millis(250);
        loop {
            tokio::select! {
                outcome = attempt() => match outcome {
                    Ok(value) => return Some(value),
                    Err(error) => tracing::warn!(%error, ?delay, "could not {what} yet; retrying"),
                },
                () = self.shutdown.cancelled() => return None,
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.cancelled() => return None,
            }
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

/// Asks the dispatcher to stop and waits until its in-flight updates are handled.
///
/// The dispatcher refuses a stop request until it is listening (it first calls `getMe`), so
/// the request is repeated until it is taken or dispatching ends by itself.
async fn stop_dispatching<F, T>(stop: &ShutdownToken, dispatching: &mut std::pin::Pin<&mut F>) -> T
where
    F: Future<Output = T>,
{
    const ASK_AGAIN: Duration = Duration::from_millis(20);
    while stop.shutdown().is_err() {
        tokio::select! {
            finished = dispatching.as_mut() => return finished,
            () = tokio::time::sleep(ASK_AGAIN) => {}
        }
    }
    dispatching.as_mut().await
}

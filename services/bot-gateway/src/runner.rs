//! The bot's life: wait for what it needs (the schema in MySQL, Telegram answering), tell
//! Telegram how to deliver updates, then take them (see [`updates`](crate::updates)) until
//! the shutdown token fires, and let the updates in flight finish.
//!
//! Everything here retries with backoff instead of failing: a gateway started while
//! Telegram or MySQL is unreachable starts serving once they are back.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bureau_kit::retry::{self, Backoff};
use bureau_platform::database;
use sqlx::MySqlPool;
use teloxide::dptree::di::DependencyMap;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, BotCommand, Me};
use tokio_util::sync::CancellationToken;

use crate::dialogue::Language;
use crate::handlers;
use crate::telegram::{GatewayBot, WebhookSetup};
use crate::texts::{Texts, key};
use crate::updates::webhook::HandlingSlot;
use crate::updates::{UpdateHandling, polling};

/// Pauses between tries while Telegram does not answer: 250 ms doubling to 10 s.
const TELEGRAM_BACKOFF: Backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(10));

/// The update kinds the schema handles, so Telegram does not send what we would ignore.
const ALLOWED_UPDATES: [AllowedUpdate; 3] = [
    AllowedUpdate::Message,
    AllowedUpdate::CallbackQuery,
    AllowedUpdate::PreCheckoutQuery,
];

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
        let Some(me) = self.prepare().await else {
            return Ok(());
        };
        // Telegram refuses getUpdates while a webhook is set.
        let bot = self.bot.clone();
        let deleted = self
            .until_done("delete the webhook", || bot.delete_webhook().send())
            .await;
        if deleted.is_none() {
            return Ok(());
        }
        polling::run(
            self.handling(me),
            self.bot.clone(),
            &ALLOWED_UPDATES,
            self.shutdown.clone(),
        )
        .await;
        tracing::info!("no longer taking updates");
        Ok(())
    }

    /// Webhook: updates come to the route on our HTTP listener, which serves them from
    /// `slot` once it is filled here.
    pub async fn serve_webhook(
        self,
        setup: WebhookSetup,
        slot: HandlingSlot,
    ) -> anyhow::Result<()> {
        let Some(me) = self.prepare().await else {
            return Ok(());
        };
        let bot = self.bot.clone();
        // Every replica sets the same URL and secret: repeating it is harmless.
        let set = self
            .until_done("set the webhook", || {
                bot.set_webhook(setup.url.clone())
                    .secret_token(setup.secret.clone())
                    .max_connections(setup.max_connections)
                    .allowed_updates(ALLOWED_UPDATES)
                    .send()
            })
            .await;
        if set.is_none() {
            return Ok(());
        }
        tracing::info!(url = %setup.url, "webhook set; taking updates");
        // Set once per process: the runner runs once.
        let _ = slot.set(self.handling(me));
        // Requests in flight finish as the HTTP server stops, after this returns.
        self.shutdown.cancelled().await;
        Ok(())
    }

    fn handling(&self, me: Me) -> Arc<UpdateHandling> {
        UpdateHandling::new(
            handlers::schema(),
            self.dependencies.clone(),
            self.bot.clone(),
            me,
        )
    }

    /// Migrations, then Telegram answering and knowing our commands. `None` when shutdown
    /// came first.
    async fn prepare(&self) -> Option<Me> {
        if let Some(pool) = &self.migrate
            && !database::migrate_when_reachable(pool, &self.shutdown).await
        {
            return None;
        }
        let bot = self.bot.clone();
        let me = self
            .until_done("reach the Bot API", || bot.get_me().send())
            .await?;
        tracing::info!(bot = %me.username(), "connected to the Bot API");
        self.register_commands().await;
        Some(me)
    }

    /// The command list Telegram shows in its menu, per language. Cosmetic: a failure is
    /// logged and the bot works without it.
    async fn register_commands(&self) {
        for language in [Language::Uk, Language::En] {
            let commands = [
                ("start", key::COMMAND_START),
                ("orders", key::COMMAND_ORDERS),
                ("bookings", key::COMMAND_BOOKINGS),
                ("status", key::COMMAND_STATUS),
                ("language", key::COMMAND_LANGUAGE),
                ("profile", key::COMMAND_PROFILE),
                ("web", key::COMMAND_WEB),
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

    /// Runs a call to Telegram until it succeeds (see [`TELEGRAM_BACKOFF`]); `None` if
    /// shutdown came first. A call in flight is dropped at shutdown: it changes nothing that
    /// the next start does not do again.
    async fn until_done<T, E, F, Fut>(&self, what: &str, attempt: F) -> Option<T>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        tokio::select! {
            done = retry::until_done(what, TELEGRAM_BACKOFF, &self.shutdown, attempt) => done,
            () = self.shutdown.cancelled() => None,
        }
    }
}

//! A Telegram Bot API double: an HTTP server that answers the Bot API
//! methods Bureau uses the way Telegram does (JSON shapes teloxide parses,
//! Telegram's error texts and status codes, flood limits with `retry_after`,
//! long polling, webhooks with retries), plus simulated users to drive a bot
//! and records of what the bot did.
//!
//! In-process, for end-to-end tests:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! use telegram_double::{DoubleConfig, TelegramDouble};
//!
//! let double = TelegramDouble::start(DoubleConfig::default()).await?;
//! // point the bot at double.api_url() with token double.token() …
//! let alice = double.user(1001);
//! alice.send_text("/start");
//! let reply = double
//!     .wait_for_message(alice.id(), Duration::from_secs(5), |m| m.body().contains("Welcome"))
//!     .await?;
//! alice.press_button(reply.message_id, "orders");
//! # Ok(()) }
//! ```
//!
//! Standalone: the `telegram-double` binary serves the same double, driven
//! through the control API under `/_double/`.

mod api;
mod config;
mod limits;
mod params;
mod payments;
mod records;
mod server;
mod state;
mod user;
mod webhook;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::DoubleConfig;
pub use payments::{PRE_CHECKOUT_WINDOW, Payment, PreCheckoutAnswer, SentInvoice};
pub use records::{CallbackAnswer, DoubleStats, Fault, SentDocument, SentMessage};
pub use user::SimUser;

use state::Shared;

/// The header Telegram puts the webhook's secret token in.
pub const SECRET_TOKEN_HEADER: &str = webhook::SECRET_HEADER;

/// A running double. Cheap to clone; the server stops when the last clone
/// is dropped or on [`TelegramDouble::shutdown`].
#[derive(Clone)]
pub struct TelegramDouble {
    shared: Arc<Shared>,
    guard: Arc<ServerGuard>,
}

/// Owned only by `TelegramDouble` handles (not by the server's own tasks),
/// so dropping the last handle stops the server.
struct ServerGuard {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.shared.shutdown_tx.send_replace(true);
    }
}

impl std::fmt::Debug for TelegramDouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramDouble")
            .field("api_url", &self.api_url())
            .finish()
    }
}

impl TelegramDouble {
    /// Binds `config.listen` and serves in spawned tasks.
    pub async fn start(config: DoubleConfig) -> anyhow::Result<TelegramDouble> {
        let listener = TcpListener::bind(config.listen).await.map_err(|e| {
            anyhow::anyhow!("telegram double: cannot listen on {}: {e}", config.listen)
        })?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, addr));

        let app = server::router(shared.clone());
        let mut stop = shared.shutdown_tx.subscribe();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            if let Err(err) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(%err, "telegram double: server failed");
            }
        });
        let pusher = tokio::spawn(webhook::run(shared.clone()));
        tracing::info!(api_url = %format!("http://{addr}"), "telegram double listening");
        Ok(TelegramDouble {
            guard: Arc::new(ServerGuard {
                shared: shared.clone(),
                tasks: Mutex::new(vec![server, pusher]),
            }),
            shared,
        })
    }

    /// The base URL to give the bot (teloxide's `Bot::set_api_url`, Bureau's
    /// `telegram.api_url`): `http://127.0.0.1:PORT`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// The address the double listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// The token the double accepts.
    pub fn token(&self) -> String {
        self.shared.config.token.clone()
    }

    /// A user and their private chat (chat id == user id), registered on first use.
    pub fn user(&self, user_id: i64) -> SimUser {
        self.shared.lock().register_private(user_id, None, None);
        SimUser {
            shared: self.shared.clone(),
            user_id,
            chat_id: user_id,
        }
    }

    /// Like [`TelegramDouble::user`], with the name and language the bot sees.
    pub fn user_with(&self, user_id: i64, first_name: &str, language_code: &str) -> SimUser {
        self.shared
            .lock()
            .register_private(user_id, Some(first_name), Some(language_code));
        SimUser {
            shared: self.shared.clone(),
            user_id,
            chat_id: user_id,
        }
    }

    /// Registers a group chat (negative id) the bot is a member of.
    pub fn group(&self, chat_id: i64, title: &str) {
        assert!(chat_id < 0, "group chat ids are negative");
        self.shared.lock().register_group(chat_id, Some(title));
    }

    /// Queues any update as Telegram would send it, `{"update_id": n, kind: payload}`, for
    /// what the simulated users cannot do: edited and channel posts, updates from groups,
    /// kinds the bot never asked for, forged payloads. Returns the update id.
    pub fn push_raw_update(&self, kind: &'static str, payload: serde_json::Value) -> u32 {
        let id = self.shared.lock().push_update(kind, payload);
        self.shared.bump_updates();
        id
    }

    /// Delivers the update that carried the user's message `message_id` in `chat_id` once
    /// more, with the same update id, as Telegram does when the bot's answer to it came too
    /// late (a webhook delivery that timed out). Returns the update id, `None` when no such
    /// message was sent.
    pub fn deliver_again(&self, chat_id: i64, message_id: i64) -> Option<u32> {
        let id = self.shared.lock().push_again(chat_id, message_id)?;
        self.shared.bump_updates();
        Some(id)
    }

    /// Everything the bot sent or edited in `chat_id`, in order (edits are
    /// entries with `edited: true`).
    pub fn messages_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.shared
            .lock()
            .log
            .get(&chat_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Ids of messages the bot deleted in `chat_id`, in order.
    pub fn deleted_messages(&self, chat_id: i64) -> Vec<i64> {
        self.shared
            .lock()
            .deleted
            .get(&chat_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The first entry of [`messages_to`](Self::messages_to) that matches
    /// `pred` — including ones already there — waiting up to `timeout` for
    /// it. The error lists what the chat did receive.
    pub async fn wait_for_message(
        &self,
        chat_id: i64,
        timeout: Duration,
        pred: impl Fn(&SentMessage) -> bool,
    ) -> anyhow::Result<SentMessage> {
        self.wait_from(chat_id, 0, timeout, pred).await
    }

    /// Like [`wait_for_message`](Self::wait_for_message), but only entries
    /// that arrive after the call count.
    pub async fn wait_for_new_message(
        &self,
        chat_id: i64,
        timeout: Duration,
        pred: impl Fn(&SentMessage) -> bool,
    ) -> anyhow::Result<SentMessage> {
        let skip = self.shared.lock().log.get(&chat_id).map_or(0, Vec::len);
        self.wait_from(chat_id, skip, timeout, pred).await
    }

    async fn wait_from(
        &self,
        chat_id: i64,
        skip: usize,
        timeout: Duration,
        pred: impl Fn(&SentMessage) -> bool,
    ) -> anyhow::Result<SentMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut changes = self.shared.messages_tx.subscribe();
            let received = self.messages_to(chat_id);
            if let Some(found) = received.iter().skip(skip).find(|m| pred(m)) {
                return Ok(found.clone());
            }
            let timed_out = tokio::select! {
                _ = changes.changed() => false,
                _ = tokio::time::sleep_until(deadline) => true,
            };
            if timed_out {
                let received = self.messages_to(chat_id);
                let listing: Vec<String> = received
                    .iter()
                    .skip(skip)
                    .map(SentMessage::describe)
                    .collect();
                anyhow::bail!(
                    "no matching message in chat {chat_id} within {timeout:?}; it received {}:\n  {}",
                    listing.len(),
                    if listing.is_empty() {
                        "(nothing)".to_owned()
                    } else {
                        listing.join("\n  ")
                    }
                );
            }
        }
    }

    /// Every `answerCallbackQuery` so far, in order.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.shared.lock().callback_answers.clone()
    }

    /// Waits until the callback query `callback_query_id` is answered.
    pub async fn wait_for_callback_answer(
        &self,
        callback_query_id: &str,
        timeout: Duration,
    ) -> anyhow::Result<CallbackAnswer> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut changes = self.shared.messages_tx.subscribe();
            if let Some(answer) = self
                .callback_answers()
                .into_iter()
                .find(|a| a.callback_query_id == callback_query_id)
            {
                return Ok(answer);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    anyhow::bail!("callback query {callback_query_id} was not answered within {timeout:?}")
                }
            }
        }
    }

    /// Every invoice the bot sent to `chat_id`, in order.
    pub fn invoices_to(&self, chat_id: i64) -> Vec<SentInvoice> {
        self.shared
            .lock()
            .payments
            .invoices
            .iter()
            .filter(|invoice| invoice.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// Waits until the bot has sent `chat_id` more than `seen` invoices; returns the next.
    pub async fn wait_for_invoice(
        &self,
        chat_id: i64,
        seen: usize,
        timeout: Duration,
    ) -> anyhow::Result<SentInvoice> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut changes = self.shared.messages_tx.subscribe();
            if let Some(invoice) = self.invoices_to(chat_id).into_iter().nth(seen) {
                return Ok(invoice);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    anyhow::bail!("no invoice #{} in chat {chat_id} within {timeout:?}", seen + 1)
                }
            }
        }
    }

    /// Every `answerPreCheckoutQuery` the double accepted, in order.
    pub fn pre_checkout_answers(&self) -> Vec<PreCheckoutAnswer> {
        self.shared.lock().payments.answers.clone()
    }

    /// Waits until the pre-checkout query `id` is answered.
    pub async fn wait_for_pre_checkout_answer(
        &self,
        id: &str,
        timeout: Duration,
    ) -> anyhow::Result<PreCheckoutAnswer> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut changes = self.shared.messages_tx.subscribe();
            if let Some(answer) = self
                .pre_checkout_answers()
                .into_iter()
                .find(|a| a.pre_checkout_query_id == id)
            {
                return Ok(answer);
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    anyhow::bail!("pre-checkout query {id} was not answered within {timeout:?}")
                }
            }
        }
    }

    /// Every payment Telegram made (approved pre-checkout queries), in order.
    pub fn payments(&self) -> Vec<Payment> {
        self.shared.lock().payments.payments.clone()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> DoubleStats {
        self.shared.lock().stats.clone()
    }

    /// Injects (or, with `Fault::None`, clears) trouble for the next sending calls.
    pub fn set_fault(&self, fault: Fault) {
        self.shared.lock().fault = fault;
    }

    /// The webhook set by the bot: `(url, secret_token)`.
    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.shared
            .lock()
            .webhook
            .as_ref()
            .map(|w| (w.url.clone(), w.secret.clone()))
    }

    /// Why the last webhook delivery failed, as `getWebhookInfo`'s `last_error_message`.
    pub fn webhook_last_error(&self) -> Option<String> {
        self.shared
            .lock()
            .webhook_last_error
            .as_ref()
            .map(|(_, message)| message.clone())
    }

    /// Updates not yet confirmed (polling) or not yet delivered (webhook).
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// Waits until every update was confirmed or delivered.
    pub async fn wait_for_no_pending_updates(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut changes = self.shared.updates_tx.subscribe();
            let pending = self.pending_updates();
            if pending == 0 {
                return Ok(());
            }
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    anyhow::bail!("{pending} updates still pending after {timeout:?}")
                }
            }
        }
    }

    /// The commands the bot registered with `setMyCommands`.
    pub fn commands(&self) -> serde_json::Value {
        self.shared.lock().commands.clone()
    }

    /// Stops serving: waiting long polls answer empty, the pusher stops,
    /// open connections are closed.
    pub async fn shutdown(self) {
        self.shared.shutdown_tx.send_replace(true);
        let tasks =
            std::mem::take(&mut *self.guard.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for mut task in tasks {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

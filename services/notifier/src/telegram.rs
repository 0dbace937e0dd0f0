//! Sending one message to Telegram, and what each kind of refusal means for it.
//!
//! - 429 `retry_after`: wait that long (if at most [`SendPolicy::longest_wait`]) and try
//!   again, up to [`SendPolicy::flood_retries`] times; after that the bus retries later.
//! - blocked, chat gone, user deactivated: the customer cannot be reached; not an error.
//! - network trouble, 5xx, anything unknown: worth retrying later, with the bus's backoff.
//! - a message Telegram calls malformed: retrying cannot help.
//!
//! Every call first takes its turn in the bot token's shared pace ([`SharedPace`], as a
//! push) and waits for it, so the bot keeps to Telegram's limits across all notifier and bot
//! gateway replicas; teloxide's `Throttle` is not used because it counts in memory, per
//! process. A 429 that slips
//! through anyway (another program using the token, Telegram tightening a limit) is waited
//! out here and counted.

use std::time::Duration;

use bureau_platform::object_store::ObjectStore;
use bureau_platform::telegram_pace::{Priority, SharedPace};
use futures::TryStreamExt;
use teloxide::{
    ApiError, Bot, RequestError,
    payloads::{SendDocumentSetters, SendMessageSetters},
    prelude::Requester,
    types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile},
};
use tokio_util::io::StreamReader;
use tokio_util::sync::CancellationToken;

use crate::metrics;
use crate::notice::{Content, OutgoingMessage};

/// How long and how often to wait out Telegram's flood control within one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendPolicy {
    /// Retries after 429s before handing the event back to the bus.
    pub flood_retries: u32,
    /// A 429 asking for a longer wait goes back to the bus at once rather than holding a
    /// consumer slot this long.
    pub longest_wait: Duration,
}

impl Default for SendPolicy {
    fn default() -> Self {
        SendPolicy {
            flood_retries: 3,
            longest_wait: Duration::from_secs(60),
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// The customer blocked the bot or the chat is gone: stop writing to it.
    #[error("the chat cannot be reached: {0}")]
    Unreachable(String),
    /// Telegram or the way there is in trouble: try again later.
    #[error("Telegram did not take the message for now: {0}")]
    Retryable(String),
    /// Telegram refused the message itself: sending it again cannot succeed.
    #[error("Telegram refused the message: {0}")]
    Refused(String),
    /// Telegram's answer, not yet classified (only inside this module).
    #[error("{0}")]
    Api(RequestError),
}

/// What one failed call to Telegram means.
#[derive(Debug)]
enum Outcome {
    FloodWait(Duration),
    Failed(SendFailure),
}

fn classify(error: &RequestError) -> Outcome {
    let reason = error.to_string();
    match error {
        RequestError::RetryAfter(wait) => Outcome::FloodWait(wait.duration()),
        RequestError::Api(api) => match api {
            ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::UserNotFound
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
            | ApiError::GroupDeactivated => Outcome::Failed(SendFailure::Unreachable(reason)),
            ApiError::MessageIsTooLong
            | ApiError::MessageTextIsEmpty
            | ApiError::ButtonDataInvalid
            | ApiError::TextButtonsAreUnallowed
            | ApiError::CantParseEntities(_) => Outcome::Failed(SendFailure::Refused(reason)),
            // A wrong token is a deployment fault: retries give an operator time to fix it
            // before the event is dead-lettered (and replayable). Telegram's 5xx answers
            // arrive here as unknown errors too.
            _ => Outcome::Failed(SendFailure::Retryable(reason)),
        },
        // Customers talk to the bot in private chats, which never migrate; a group would
        // need its new id recorded first.
        RequestError::MigrateToChatId(_) => Outcome::Failed(SendFailure::Refused(reason)),
        RequestError::Network(_) | RequestError::InvalidJson { .. } | RequestError::Io(_) => {
            Outcome::Failed(SendFailure::Retryable(reason))
        }
    }
}

/// Sends notices through the Bot API with the policy above.
#[derive(Clone)]
pub struct TelegramSender {
    bot: Bot,
    policy: SendPolicy,
    /// The bot's pace, shared with every other process sending with its token.
    slots: SharedPace,
    /// Where result documents are streamed from.
    store: ObjectStore,
    /// Cuts a flood wait short at shutdown; the event then goes back to the bus.
    shutdown: CancellationToken,
}

impl TelegramSender {
    /// A sender to the Bot API at `api_url` (Telegram's, or the double's in tests).
    pub fn new(
        api_url: &str,
        token: &str,
        policy: SendPolicy,
        slots: SharedPace,
        store: ObjectStore,
        shutdown: CancellationToken,
    ) -> anyhow::Result<TelegramSender> {
        let api_url = reqwest::Url::parse(api_url).map_err(|error| {
            anyhow::anyhow!("telegram.api_url {api_url:?} is not a URL: {error}")
        })?;
        let bot = Bot::new(token).set_api_url(api_url);
        Ok(TelegramSender {
            bot,
            policy,
            slots,
            store,
            shutdown,
        })
    }

    /// Sends `message` to `chat_id`; returns the id Telegram gave the message.
    #[tracing::instrument(name = "telegram send", skip_all, fields(otel.kind = "client", chat_id = chat_id))]
    pub async fn send(&self, chat_id: i64, message: &OutgoingMessage) -> Result<i64, SendFailure> {
        let mut flood_waits = 0;
        loop {
            self.wait_for_slot(chat_id).await?;
            let error = match self.send_once(chat_id, message).await {
                Ok(message_id) => {
                    metrics::send("sent");
                    return Ok(message_id);
                }
                Err(SendFailure::Api(error)) => error,
                Err(other) => {
                    metrics::send("failed");
                    return Err(other);
                }
            };
            let wait = match classify(&error) {
                Outcome::Failed(failure) => {
                    metrics::send(match failure {
                        SendFailure::Refused(_) | SendFailure::Unreachable(_) => "refused",
                        _ => "failed",
                    });
                    return Err(failure);
                }
                Outcome::FloodWait(wait) => wait,
            };
            metrics::send("flood_wait");
            metrics::too_many_requests();
            if flood_waits >= self.policy.flood_retries {
                return Err(SendFailure::Retryable(format!(
                    "still rate limited after {flood_waits} waits ({error})"
                )));
            }
            if wait > self.policy.longest_wait {
                return Err(SendFailure::Retryable(format!(
                    "Telegram asks to wait {wait:?}, longer than the {:?} we wait in place",
                    self.policy.longest_wait
                )));
            }
            flood_waits += 1;
            tracing::info!(
                chat_id,
                ?wait,
                attempt = flood_waits,
                "rate limited by Telegram; waiting"
            );
            metrics::retry_after_waited(wait);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => {
                    return Err(SendFailure::Retryable("shutting down during a flood wait".into()));
                }
            }
        }
    }

    /// Takes this call's turn in the shared pace, as a push (replies to customers who are
    /// waiting go first), and sleeps until it comes.
    async fn wait_for_slot(&self, chat_id: i64) -> Result<(), SendFailure> {
        tokio::select! {
            waited = self.slots.wait_turn(chat_id, Priority::Push) => {
                let waited = waited.map_err(|error| {
                    SendFailure::Retryable(format!("taking a send slot: {error}"))
                })?;
                metrics::slot_wait(waited);
                Ok(())
            }
            _ = self.shutdown.cancelled() => {
                Err(SendFailure::Retryable("shutting down while waiting for a send slot".into()))
            }
        }
    }

    async fn send_once(&self, chat_id: i64, message: &OutgoingMessage) -> Result<i64, SendFailure> {
        let markup = InlineKeyboardMarkup::new(message.buttons.iter().map(|row| {
            row.iter()
                .map(|button| {
                    InlineKeyboardButton::callback(
                        button.label.clone(),
                        button.callback_data.clone(),
                    )
                })
                .collect::<Vec<_>>()
        }));
        let sent = match &message.content {
            Content::Text(text) => {
                self.bot
                    .send_message(ChatId(chat_id), text.clone())
                    .reply_markup(markup)
                    .await
            }
            Content::Document {
                object_key,
                file_name,
                caption,
            } => {
                // Streamed: the object is read from the store as teloxide uploads it, never
                // held whole. A fresh stream on every try, since a stream is read only once.
                let stream = self.store.get_stream(object_key).await.map_err(|error| {
                    SendFailure::Retryable(format!("reading {object_key} from the store: {error}"))
                })?;
                let reader = StreamReader::new(stream.map_err(std::io::Error::other));
                let document = InputFile::read(reader).file_name(file_name.clone());
                self.bot
                    .send_document(ChatId(chat_id), document)
                    .caption(caption.clone())
                    .reply_markup(markup)
                    .await
            }
        };
        sent.map(|sent| i64::from(sent.id.0))
            .map_err(SendFailure::Api)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn flood_control_is_waited_out() {
        let error = RequestError::RetryAfter(Seconds::from_seconds(5));
        assert!(
            matches!(classify(&error), Outcome::FloodWait(wait) if wait == Duration::from_secs(5))
        );
    }

    #[test]
    fn blocked_or_vanished_chats_are_unreachable() {
        for api in [
            ApiError::BotBlocked,
            ApiError::ChatNotFound,
            ApiError::UserDeactivated,
        ] {
            assert!(matches!(
                classify(&RequestError::Api(api)),
                Outcome::Failed(SendFailure::Unreachable(_))
            ));
        }
    }

    #[test]
    fn server_and_network_trouble_is_retried_later() {
        let bad_gateway = RequestError::Api(ApiError::Unknown("Bad Gateway".into()));
        let io = RequestError::Io(Arc::new(std::io::Error::other("connection reset")));
        for error in [bad_gateway, io, RequestError::Api(ApiError::InvalidToken)] {
            assert!(
                matches!(classify(&error), Outcome::Failed(SendFailure::Retryable(_))),
                "{error}"
            );
        }
    }

    #[test]
    fn a_malformed_message_is_refused_for_good() {
        assert!(matches!(
            classify(&RequestError::Api(ApiError::MessageIsTooLong)),
            Outcome::Failed(SendFailure::Refused(_))
        ));
    }
}

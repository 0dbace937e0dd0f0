//! What the bot says back: handlers queue [`Reply`]s, and the handlers' context delivers
//! them in order once the update's work is done.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, ReplyMarkup};
use teloxide::{ApiError, RequestError};

use crate::telegram::GatewayBot;

/// One thing the bot says in a chat.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A new message.
    Send {
        text: String,
        markup: Option<ReplyMarkup>,
    },
    /// The message `message` changed to read `text` (a screen that changes in place: a
    /// catalogue level, a page of orders, an order's page); a new message when there is
    /// none, or it can no longer be edited.
    Show {
        message: Option<i32>,
        text: String,
        keyboard: InlineKeyboardMarkup,
    },
}

/// Says `replies` in order in `chat_id`, up to the first Telegram does not take.
pub async fn deliver(
    bot: &GatewayBot,
    chat_id: ChatId,
    replies: Vec<Reply>,
) -> Result<(), RequestError> {
    for reply in &replies {
        say(bot, chat_id, reply).await?;
    }
    Ok(())
}

async fn say(bot: &GatewayBot, chat_id: ChatId, reply: &Reply) -> Result<(), RequestError> {
    let (text, markup) = match reply {
        Reply::Send { text, markup } => (text, markup.clone()),
        Reply::Show {
            message,
            text,
            keyboard,
        } => {
            if let Some(message) = message {
                // Edits are not paced by the throttle (it paces sends only), but Telegram
                // counts them against the chat's limit: a 429 is waited out, a few times.
                for _ in 0..3 {
                    match bot
                        .edit_message_text(chat_id, MessageId(*message), text.clone())
                        .reply_markup(keyboard.clone())
                        .await
                    {
                        Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {
                            return Ok(());
                        }
                        Err(RequestError::RetryAfter(wait)) => {
                            tokio::time::sleep(wait.duration()).await
                        }
                        Err(error) => {
                            tracing::debug!(%error, "message not editable; sending a new one");
                            break;
                        }
                    }
                }
            }
            (text, Some(keyboard.clone().into()))
        }
    };
    let request = bot.send_message(chat_id, text.clone());
    match markup {
        Some(markup) => request.reply_markup(markup).await?,
        None => request.await?,
    };
    Ok(())
}

/// The order number is the one reply the customer must get: the order exists now, and an
/// update that already succeeded is not redelivered by Telegram. Transient failures
/// (network, Telegram 5xx, 429) are retried a few times with backoff; a refusal that
/// retrying cannot change (a blocked bot) is returned at once.
pub async fn send_until_delivered<R>(request: impl Fn() -> R) -> Result<(), RequestError>
where
    R: std::future::IntoFuture<Output = Result<teloxide::types::Message, RequestError>>,
{
    let mut delay = Duration::from_secs(1);
    let mut attempt = 1;
    loop {
        let error = match request().await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let transient = matches!(
            error,
            RequestError::Network(_)
                | RequestError::Io(_)
                | RequestError::InvalidJson { .. }
                | RequestError::RetryAfter(_)
                | RequestError::Api(ApiError::Unknown(_))
        );
        if !transient || attempt >= ACCEPTED_REPLY_ATTEMPTS {
            return Err(error);
        }
        let wait = match &error {
            RequestError::RetryAfter(seconds) => seconds.duration(),
            _ => delay,
        };
        tracing::warn!(%error, attempt, ?wait, "the order number did not reach the customer; retrying");
        tokio::time::sleep(wait).await;
        delay *= 2;
        attempt += 1;
    }
}

/// Tries of the order-number reply before giving up (the customer can still see the order
/// under My orders).
const ACCEPTED_REPLY_ATTEMPTS: u32 = 4;

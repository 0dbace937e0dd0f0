//! What the bot says back, and getting it to the customer even when Telegram stumbles.
//!
//! Handlers do not send: they queue [`Reply`]s, and the handlers' context delivers them in
//! order once the update's work is done. A reply Telegram could not take for a reason that
//! passes (a network error, a 5xx, a 429) is tried again a few times (a 5xx once: teloxide
//! waits 10 s after each before returning it); if Telegram still fails, that reply and the
//! ones after it are kept with the chat's conversation as
//! [`Undelivered`] and the update is deferred. When Telegram delivers the update again, the
//! kept replies are said and the update's work is not done a second time. Replies kept
//! longer than [`PATIENCE`] are given up.

use std::time::Duration;

use bureau_kit::retry::Backoff;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, MessageId, ReplyMarkup};
use teloxide::{ApiError, RequestError};

use uuid::Uuid;

use crate::dialogue::{Conversation, Stage};
use crate::telegram::GatewayBot;

/// How long replies Telegram would not take are kept (and their update deferred) before
/// they are given up.
pub const PATIENCE: Duration = Duration::from_secs(10 * 60);

/// The most replies kept for one chat; later ones are given up at once.
const MAX_KEPT: usize = 20;

/// Tries of one reply within one delivery after a network error or a short 429, before it
/// is kept for later.
const ATTEMPTS: u32 = 3;
/// The pause after the first failed try; doubled after each.
const FIRST_PAUSE: Duration = Duration::from_millis(500);
/// A 429 asking to wait longer than this is not waited out here: the reply is kept.
const LONGEST_WAIT: Duration = Duration::from_secs(5);

/// One thing the bot says in a chat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// An invoice with Telegram's "Pay" button (skipped when payments are off).
    Invoice(Invoice),
    /// The card of the draft `order_id` (see [`Draft::card`](crate::dialogue::Draft)):
    /// shown like [`Reply::Show`]; a card sent as a new message is remembered by the draft,
    /// so the next change edits it.
    Card {
        order_id: Uuid,
        message: Option<i32>,
        text: String,
        keyboard: InlineKeyboardMarkup,
    },
}

/// A Telegram invoice (`sendInvoice`) for an order: what the customer pays, from the
/// order as the server priced it. The provider token is the bot's, never stored here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub title: String,
    pub description: String,
    /// Names the order (`proto_events::callbacks::invoice_payload`).
    pub payload: String,
    pub currency: String,
    /// The one price line's label.
    pub label: String,
    pub amount_minor: u32,
}

/// What a delivery did: the replies it could not say, and the cards it sent as new
/// messages (the draft's id, the message's).
#[derive(Debug, Default)]
pub struct Delivered {
    pub unsaid: Vec<Reply>,
    pub new_cards: Vec<(Uuid, i32)>,
}

impl Delivered {
    /// Remembers the new cards in `conversation`'s draft, if it is theirs; `true` if it
    /// changed.
    pub fn remember_cards(&self, conversation: &mut Conversation) -> bool {
        let Stage::Drafting(draft) = &mut conversation.stage else {
            return false;
        };
        let mut changed = false;
        for (order_id, message) in &self.new_cards {
            if draft.order_id == *order_id && draft.card != Some(*message) {
                draft.card = Some(*message);
                changed = true;
            }
        }
        changed
    }
}

/// Replies Telegram did not take yet, kept with the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Undelivered {
    /// The update they answer, which is not handled again when Telegram delivers it again;
    /// `None` for replies no update is waiting for (an album's answer).
    pub update_id: Option<u32>,
    pub replies: Vec<Reply>,
    /// When the first of them could not be said.
    pub since: DateTime<Utc>,
}

impl Undelivered {
    pub fn new(update_id: Option<u32>, replies: Vec<Reply>) -> Undelivered {
        let mut undelivered = Undelivered {
            update_id,
            replies: Vec::new(),
            since: Utc::now(),
        };
        undelivered.extend(replies);
        undelivered
    }

    /// Adds `replies` after those kept, up to [`MAX_KEPT`].
    pub fn extend(&mut self, replies: Vec<Reply>) {
        let room = MAX_KEPT.saturating_sub(self.replies.len());
        if replies.len() > room {
            tracing::error!(
                dropped = replies.len() - room,
                "too many replies kept for one chat; the latest are given up"
            );
        }
        self.replies.extend(replies.into_iter().take(room));
    }

    /// Kept longer than [`PATIENCE`]: to be given up.
    pub fn expired(&self) -> bool {
        Utc::now()
            .signed_duration_since(self.since)
            .to_std()
            .unwrap_or_default()
            > PATIENCE
    }
}

/// Says `replies` in order in `chat_id`. Returns what was not said: the first reply
/// Telegram would not take for a reason that passes, and every reply after it. A reply
/// Telegram refuses for good (the bot is blocked, the chat is gone) is logged and skipped.
pub async fn deliver(bot: &GatewayBot, chat_id: ChatId, replies: Vec<Reply>) -> Delivered {
    let mut delivered = Delivered::default();
    let mut replies = replies.into_iter();
    while let Some(reply) = replies.next() {
        match say_with_retries(bot, chat_id, &reply).await {
            Ok(Some(sent)) => {
                if let Reply::Card { order_id, .. } = &reply {
                    delivered.new_cards.push((*order_id, sent));
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, chat_id = chat_id.0, "Telegram did not take a reply; it is kept for later");
                delivered.unsaid = std::iter::once(reply).chain(replies).collect();
                break;
            }
        }
    }
    delivered
}

/// `Err` for a failure that passes, once it is not worth trying again now; `Ok(Some(id))`
/// when a new message was sent.
async fn say_with_retries(
    bot: &GatewayBot,
    chat_id: ChatId,
    reply: &Reply,
) -> Result<Option<i32>, RequestError> {
    let mut pauses = Backoff::new(FIRST_PAUSE, LONGEST_WAIT).pauses();
    let mut attempt = 1;
    loop {
        let error = match say(bot, chat_id, reply).await {
            Ok(sent) => return Ok(sent),
            Err(error) if !passes(&error) => {
                tracing::warn!(%error, chat_id = chat_id.0, "Telegram refused a reply; it is given up");
                return Ok(None);
            }
            Err(error) => error,
        };
        let wait = match &error {
            RequestError::RetryAfter(seconds) => Some(seconds.duration()),
            RequestError::Network(_) | RequestError::Io(_) => Some(pauses.next_pause()),
            // Telegram's 5xx: teloxide has already waited 10 s before returning it.
            _ => None,
        };
        let Some(wait) = wait.filter(|wait| attempt < ATTEMPTS && *wait <= LONGEST_WAIT) else {
            return Err(error);
        };
        tracing::debug!(%error, attempt, ?wait, "a reply did not reach Telegram; trying again");
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// Says one reply; `Some(id)` of the message when a new one was sent.
async fn say(
    bot: &GatewayBot,
    chat_id: ChatId,
    reply: &Reply,
) -> Result<Option<i32>, RequestError> {
    let (text, markup) = match reply {
        Reply::Invoice(invoice) => return send_invoice(bot, chat_id, invoice).await,
        Reply::Send { text, markup } => (text, markup.clone()),
        Reply::Show {
            message,
            text,
            keyboard,
        }
        | Reply::Card {
            message,
            text,
            keyboard,
            ..
        } => {
            if let Some(message) = message {
                // An edit counts against Telegram's limits like a message.
                bot.wait_turn(chat_id).await;
                match bot
                    .edit_message_text(chat_id, MessageId(*message), text.clone())
                    .reply_markup(keyboard.clone())
                    .await
                {
                    Ok(_) | Err(RequestError::Api(ApiError::MessageNotModified)) => {
                        return Ok(None);
                    }
                    Err(error) if passes(&error) => return Err(error),
                    Err(error) => {
                        tracing::debug!(%error, "message not editable; sending a new one");
                    }
                }
            }
            (text, Some(keyboard.clone().into()))
        }
    };
    bot.wait_turn(chat_id).await;
    let request = bot.send_message(chat_id, text.clone());
    let sent = match markup {
        Some(markup) => request.reply_markup(markup).await?,
        None => request.await?,
    };
    Ok(Some(sent.id.0))
}

async fn send_invoice(
    bot: &GatewayBot,
    chat_id: ChatId,
    invoice: &Invoice,
) -> Result<Option<i32>, RequestError> {
    let Some(token) = bot.payment_token() else {
        tracing::warn!(
            chat_id = chat_id.0,
            "an invoice without a payment provider token is not sent"
        );
        return Ok(None);
    };
    bot.wait_turn(chat_id).await;
    let sent = bot
        .send_invoice(
            chat_id,
            invoice.title.clone(),
            invoice.description.clone(),
            invoice.payload.clone(),
            invoice.currency.clone(),
            [teloxide::types::LabeledPrice::new(
                invoice.label.clone(),
                invoice.amount_minor,
            )],
        )
        .provider_token(token)
        .await?;
    Ok(Some(sent.id.0))
}

/// Whether a failure may pass by itself: the network, Telegram's 5xx (a JSON error with an
/// unknown description, or a page that is not JSON at all) and 429. Telegram's 4xx
/// refusals (blocked, bad request, chat not found) do not.
fn passes(error: &RequestError) -> bool {
    match error {
        RequestError::Network(_)
        | RequestError::Io(_)
        | RequestError::InvalidJson { .. }
        | RequestError::RetryAfter(_) => true,
        RequestError::Api(ApiError::Unknown(description)) => {
            const REFUSALS: [&str; 5] = [
                "Bad Request",
                "Forbidden",
                "Unauthorized",
                "Not Found",
                "Conflict",
            ];
            !REFUSALS
                .iter()
                .any(|refusal| description.starts_with(refusal))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use teloxide::types::{InlineKeyboardButton, KeyboardButton, KeyboardMarkup};

    use super::*;

    #[test]
    fn kept_replies_survive_the_conversations_json() {
        let replies = vec![
            Reply::Send {
                text: "Order №48213097 accepted!".into(),
                markup: Some(KeyboardMarkup::new([[KeyboardButton::new("📝 New order")]]).into()),
            },
            Reply::Send {
                text: "plain".into(),
                markup: None,
            },
            Reply::Show {
                message: Some(42),
                text: "Your orders".into(),
                keyboard: InlineKeyboardMarkup::new([[InlineKeyboardButton::callback(
                    "№1", "od:x",
                )]]),
            },
        ];
        let kept = Undelivered::new(Some(7), replies);
        let json = serde_json::to_string(&kept).unwrap();
        assert_eq!(serde_json::from_str::<Undelivered>(&json).unwrap(), kept);
        assert!(!kept.expired());
    }

    #[test]
    fn a_chat_keeps_a_bounded_number_of_replies() {
        let reply = Reply::Send {
            text: "x".into(),
            markup: None,
        };
        let mut kept = Undelivered::new(None, vec![reply.clone(); MAX_KEPT - 1]);
        kept.extend(vec![reply; 5]);
        assert_eq!(kept.replies.len(), MAX_KEPT);
    }

    #[test]
    fn only_failures_that_pass_are_tried_again() {
        assert!(passes(&RequestError::Api(ApiError::Unknown(
            "Bad Gateway".into()
        ))));
        assert!(passes(&RequestError::Api(ApiError::Unknown(
            "Internal Server Error".into()
        ))));
        assert!(!passes(&RequestError::Api(ApiError::Unknown(
            "Bad Request: something new".into()
        ))));
        assert!(!passes(&RequestError::Api(ApiError::BotBlocked)));
        assert!(!passes(&RequestError::Api(ApiError::MessageNotModified)));
    }
}

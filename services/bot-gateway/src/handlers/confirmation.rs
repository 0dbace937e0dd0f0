//! From a finished draft to a placed order: Done shows the summary (service, text, files)
//! with Confirm / Edit / Cancel; Confirm places the order.
//!
//! Confirm carries the draft's revision, so only a summary that still shows the draft as it
//! is can place it. A customer we do not know yet is registered first (name, then phone, see
//! [`registration`](super::registration)), after which the order is placed without another
//! tap. Placing publishes the order's events in one batch and tells the customer the order
//! number only after the broker has confirmed them all. If publishing fails the update is
//! deferred: the draft stays as it was, Telegram delivers the press again, and that second
//! delivery publishes the very same events. A button drawn for a draft
//! that is gone (sent, cancelled, or replaced) only answers "this button is outdated".

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::User;

use super::{Deferred, Desk, HandlerResult, show, telegram_user_id};
use crate::clip::clip;
use crate::dialogue::{ChatDialogue, Conversation, Draft, DraftStep, Registration};
use crate::keyboards;
use crate::menu::{main_menu, name_suggestion};
use crate::publish::{TelegramCustomer, order_events};
use crate::telegram::GatewayBot;
use crate::texts::key;

/// The longest part of the description a summary quotes: a message holds 4,096 characters.
const SUMMARY_DESCRIPTION_CHARS: usize = 1_500;

/// Done: the summary of the draft, as a new message, with Confirm / Edit / Cancel.
pub async fn summarize(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    draft: &Draft,
) -> HandlerResult {
    let language = conversation.language;
    if draft.is_empty() {
        bot.answer_callback_query(query.id.clone())
            .text(desk.texts.get(language, key::DRAFT_EMPTY))
            .await?;
        return Ok(());
    }
    bot.answer_callback_query(query.id.clone()).await?;
    let text = summary_text(desk, conversation, draft).await?;
    bot.send_message(chat_id, text)
        .reply_markup(keyboards::summary(desk.texts.words(language), draft))
        .await?;
    Ok(())
}

async fn summary_text(
    desk: &Desk,
    conversation: &Conversation,
    draft: &Draft,
) -> Result<String, sqlx::Error> {
    let (texts, language) = (&desk.texts, conversation.language);
    let service = match &draft.service {
        Some(service) => desk
            .catalogue
            .name_of(&service.code, language)
            .await?
            .unwrap_or_else(|| service.code.clone()),
        None => texts.get(language, key::SERVICE_OTHER),
    };
    let description = match draft.description.trim() {
        "" => texts.get(language, key::DRAFT_NO_TEXT),
        text => clip(text, SUMMARY_DESCRIPTION_CHARS),
    };
    let mut files: Vec<String> = draft
        .files
        .iter()
        .map(|file| texts.file_line(language, &file.name, file.size))
        .collect();
    files.extend(draft.large_files.iter().map(|file| {
        let size = texts.size(language, file.size);
        format!(
            "• {}",
            texts.format(
                language,
                key::DRAFT_LARGE_FILE_LINE,
                &[("name", &file.name), ("size", &size)]
            )
        )
    }));
    let files = if files.is_empty() {
        texts.get(language, key::DRAFT_NO_FILES)
    } else {
        files.join("\n")
    };
    Ok(texts.format(
        language,
        key::DRAFT_SUMMARY,
        &[
            ("service", &service),
            ("description", &description),
            ("files", &files),
        ],
    ))
}

/// Edit: what may be changed, in place of the summary.
pub async fn edit(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    draft: &Draft,
) -> HandlerResult {
    let language = conversation.language;
    bot.answer_callback_query(query.id.clone()).await?;
    let text = desk.texts.get(language, key::DRAFT_EDIT);
    show(
        bot,
        chat_id,
        query,
        text,
        keyboards::edit(desk.texts.words(language), draft.order_id),
    )
    .await
}

/// Clear the description (`answer` is [`key::DRAFT_TEXT_CLEARED`]) or the files.
pub async fn clear(
    bot: &GatewayBot,
    desk: &Desk,
    dialogue: &ChatDialogue,
    conversation: &Conversation,
    query: &CallbackQuery,
    mut draft: Draft,
    answer: &str,
) -> HandlerResult {
    if answer == key::DRAFT_TEXT_CLEARED {
        draft.clear_description();
    } else {
        draft.clear_files();
    }
    dialogue.update(conversation.drafting(draft)).await?;
    bot.answer_callback_query(query.id.clone())
        .text(desk.texts.get(conversation.language, answer))
        .await?;
    Ok(())
}

pub async fn confirm(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    query: CallbackQuery,
    mut draft: Draft,
    revision: u32,
) -> HandlerResult {
    let language = conversation.language;
    if revision != draft.revision {
        // The draft changed after this summary was shown: it is not what the customer saw.
        return super::buttons::answer_outdated(&bot, &desk.texts, language, &query).await;
    }
    if draft.is_empty() {
        bot.answer_callback_query(query.id)
            .text(desk.texts.get(language, key::DRAFT_EMPTY))
            .await?;
        return Ok(());
    }
    if conversation.profile.is_none() {
        // First order: who the customer is comes first; the order is placed right after.
        draft.step = DraftStep::Registering(Registration::Name);
        dialogue.update(conversation.drafting(draft)).await?;
        bot.answer_callback_query(query.id).await?;
        bot.send_message(
            dialogue.chat_id(),
            desk.texts.get(language, key::REGISTER_NAME),
        )
        .reply_markup(name_suggestion(&query.from.full_name()))
        .await?;
        return Ok(());
    }
    let placed = place_order(&bot, &desk, &dialogue, &conversation, &draft, &query.from).await;
    if let Err(error) = bot.answer_callback_query(query.id).await {
        tracing::warn!(%error, "callback query not answered");
    }
    placed
}

/// Publishes the draft's events and, once the broker has them, tells the customer the order
/// number (and gives upload links for files too large for Telegram). On failure the update
/// is [`Deferred`]: the conversation stays as it is, and Telegram delivers the update again.
pub async fn place_order(
    bot: &GatewayBot,
    desk: &Desk,
    dialogue: &ChatDialogue,
    conversation: &Conversation,
    draft: &Draft,
    from: &User,
) -> HandlerResult {
    let language = conversation.language;
    let order_id = draft.order_id;
    let customer = TelegramCustomer {
        user_id: telegram_user_id(from),
        chat_id: dialogue.chat_id().0,
        display_name: from.full_name(),
        username: from.username.clone(),
        language,
        profile: conversation.profile.clone(),
    };
    let events = order_events(draft, &customer, Utc::now());
    let published = desk.publish(&events).await;
    let chat_id = dialogue.chat_id();
    if let Err(reason) = published {
        // Nothing stored changes, so Telegram's second delivery of this very update places
        // the order with the same event ids, and the customer need not press again.
        tracing::warn!(%order_id, %reason, "order not accepted yet: its events were not published; the update is deferred");
        let notice = desk.texts.get(language, key::ORDER_DEFERRED);
        return Err(Deferred::boxed(
            format!("order {order_id} not published: {reason}"),
            Some((chat_id, notice)),
        ));
    }
    tracing::info!(%order_id, order_number = %draft.order_number, files = draft.files.len(), "order accepted");
    // From here the order exists whatever else fails, so the customer must hear its number.
    if let Err(error) = dialogue.update(conversation.idle()).await {
        // Harmless beyond a stale draft: confirming it again republishes the same events.
        tracing::error!(%error, %order_id, "accepted order's draft not cleared");
    }
    let number = &draft.order_number;
    let accepted = desk
        .texts
        .format(language, key::ORDER_ACCEPTED, &[("number", number)]);
    let menu = main_menu(desk.texts.words(language));
    send_until_delivered(|| {
        bot.send_message(chat_id, accepted.clone())
            .reply_markup(menu.clone())
    })
    .await?;
    if !draft.large_files.is_empty() {
        let names = draft
            .large_files
            .iter()
            .map(|file| format!("«{}»", file.name))
            .collect::<Vec<_>>()
            .join(", ");
        let text = match desk.upload_link(order_id) {
            Some(link) => {
                let hours = desk.upload_link_hours().to_string();
                desk.texts.format(
                    language,
                    key::ORDER_UPLOAD_LINK,
                    &[
                        ("names", &names),
                        ("number", number),
                        ("link", &link),
                        ("hours", &hours),
                    ],
                )
            }
            None => desk.texts.format(
                language,
                key::ORDER_UPLOAD_ELSEWHERE,
                &[("names", &names), ("number", number)],
            ),
        };
        bot.send_message(chat_id, text).await?;
    }
    Ok(())
}

pub async fn cancel(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    query: CallbackQuery,
) -> HandlerResult {
    let language = conversation.language;
    dialogue.update(conversation.idle()).await?;
    bot.answer_callback_query(query.id).await?;
    bot.send_message(
        dialogue.chat_id(),
        desk.texts.get(language, key::DRAFT_CANCELLED),
    )
    .reply_markup(main_menu(desk.texts.words(language)))
    .await?;
    Ok(())
}

/// The order number is the one reply the customer must get: the order exists now, and an
/// update that already succeeded is not redelivered by Telegram. Transient failures
/// (network, Telegram 5xx, 429) are retried a few times with backoff; a refusal that
/// retrying cannot change (a blocked bot) is returned at once.
async fn send_until_delivered<R>(request: impl Fn() -> R) -> Result<(), teloxide::RequestError>
where
    R: std::future::IntoFuture<Output = Result<teloxide::types::Message, teloxide::RequestError>>,
{
    use teloxide::{ApiError, RequestError};
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

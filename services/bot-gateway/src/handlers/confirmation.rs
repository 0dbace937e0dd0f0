//! The Confirm / Cancel buttons under a draft.
//!
//! Confirm publishes the order's events in one batch and tells the customer the order
//! number only after the broker has confirmed them all. If publishing fails the draft stays
//! as it was, and a second press publishes the very same events. A button drawn for a draft
//! that is gone (sent, cancelled, or replaced) only answers "this button is outdated".

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use proto_events::bus::EventBus;
use teloxide::prelude::*;
use uuid::Uuid;

use super::{HandlerResult, telegram_user_id};
use crate::dialogue::{ChatDialogue, Conversation, Draft};
use crate::menu::main_menu;
use crate::publish::{TelegramCustomer, order_events};
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

/// Telegram stops waiting for a callback answer after about 15 s; a broker that has not
/// confirmed by then is treated as unavailable. Giving up is safe: a retry publishes the
/// same event ids, so events that did get through are not doubled.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn confirm(
    bot: GatewayBot,
    texts: Arc<Texts>,
    bus: Arc<EventBus>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    query: CallbackQuery,
    order_id: Uuid,
) -> HandlerResult {
    let Some(draft) = current_draft(&conversation, order_id) else {
        return outdated(bot, texts, conversation, query).await;
    };
    let language = conversation.language;
    if draft.is_empty() {
        bot.answer_callback_query(query.id).text(texts.get(language, key::DRAFT_EMPTY)).await?;
        return Ok(());
    }
    let customer = TelegramCustomer {
        user_id: telegram_user_id(&query.from),
        chat_id: dialogue.chat_id().0,
        display_name: query.from.full_name(),
        username: query.from.username.clone(),
        language,
    };
    let events = order_events(draft, &customer, Utc::now());
    let published = match tokio::time::timeout(PUBLISH_TIMEOUT, bus.publish_all(&events)).await {
        Ok(outcome) => outcome.map_err(|error| error.to_string()),
        Err(_) => Err(format!("no confirm within {PUBLISH_TIMEOUT:?}")),
    };
    let chat_id = dialogue.chat_id();
    if let Err(reason) = published {
        tracing::warn!(%order_id, %reason, "order not accepted: its events were not published; the draft is kept");
        bot.answer_callback_query(query.id).await?;
        bot.send_message(chat_id, texts.get(language, key::ORDER_NOT_ACCEPTED)).await?;
        return Ok(());
    }
    tracing::info!(%order_id, order_number = %draft.order_number, files = draft.files.len(), "order accepted");
    // From here the order exists whatever else fails, so the customer must hear its number.
    if let Err(error) = dialogue.update(conversation.idle()).await {
        // Harmless beyond a stale draft: confirming it again republishes the same events.
        tracing::error!(%error, %order_id, "accepted order's draft not cleared");
    }
    if let Err(error) = bot.answer_callback_query(query.id).await {
        tracing::warn!(%error, "callback query not answered");
    }
    let accepted = texts.format(language, key::ORDER_ACCEPTED, &[("number", &draft.order_number)]);
    bot.send_message(chat_id, accepted).reply_markup(main_menu(&texts, language)).await?;
    Ok(())
}

pub async fn cancel(
    bot: GatewayBot,
    texts: Arc<Texts>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    query: CallbackQuery,
    order_id: Uuid,
) -> HandlerResult {
    if current_draft(&conversation, order_id).is_none() {
        return outdated(bot, texts, conversation, query).await;
    }
    let language = conversation.language;
    dialogue.update(conversation.idle()).await?;
    bot.answer_callback_query(query.id).await?;
    bot.send_message(dialogue.chat_id(), texts.get(language, key::DRAFT_CANCELLED))
        .reply_markup(main_menu(&texts, language))
        .await?;
    Ok(())
}

/// Any button that no longer matches the draft in progress, or is not ours at all.
pub async fn outdated(bot: GatewayBot, texts: Arc<Texts>, conversation: Conversation, query: CallbackQuery) -> HandlerResult {
    bot.answer_callback_query(query.id).text(texts.get(conversation.language, key::BUTTON_OUTDATED)).await?;
    Ok(())
}

/// The draft in progress, if the button was drawn for it.
fn current_draft(conversation: &Conversation, order_id: Uuid) -> Option<&Draft> {
    conversation.draft().filter(|draft| draft.order_id == order_id)
}

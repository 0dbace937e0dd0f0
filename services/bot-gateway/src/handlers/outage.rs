//! When a customer's conversation cannot be loaded (MySQL unreachable): the update is
//! deferred, so Telegram delivers it again, and the customer hears, in the language of
//! their Telegram, that it will be handled as soon as we can.

use std::sync::Arc;

use teloxide::prelude::*;

use super::deferred::{Deferred, HandlerResult};
use crate::desk::Desk;
use crate::dialogue::Language;
use crate::telegram::GatewayBot;
use crate::texts::key;

pub async fn message_unavailable(desk: Arc<Desk>, message: Message) -> HandlerResult {
    let language = Language::from_telegram(
        message
            .from
            .as_ref()
            .and_then(|user| user.language_code.as_deref()),
    );
    Err(Deferred::boxed(
        "the conversation could not be loaded",
        Some((message.chat.id, desk.texts.get(language, key::DEFERRED))),
    ))
}

/// A press under no message of a chat: answered as an outdated button, and done.
pub async fn callback_without_chat(
    bot: GatewayBot,
    desk: Arc<Desk>,
    query: CallbackQuery,
) -> HandlerResult {
    let language = Language::from_telegram(query.from.language_code.as_deref());
    if let Err(error) = bot
        .answer_callback_query(query.id)
        .text(desk.texts.get(language, key::BUTTON_OUTDATED))
        .await
    {
        tracing::debug!(%error, "callback query not answered");
    }
    Ok(())
}

pub async fn callback_unavailable(
    bot: GatewayBot,
    desk: Arc<Desk>,
    query: CallbackQuery,
) -> HandlerResult {
    let language = Language::from_telegram(query.from.language_code.as_deref());
    // Stops the button's spinner. A redelivered query may be too old to answer: harmless.
    if let Err(error) = bot
        .answer_callback_query(query.id)
        .text(desk.texts.get(language, key::DEFERRED))
        .await
    {
        tracing::debug!(%error, "callback query not answered");
    }
    Err(Deferred::boxed(
        "the conversation could not be loaded",
        None,
    ))
}

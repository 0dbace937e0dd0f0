//! What the customer hears when their conversation cannot be loaded (MySQL unreachable):
//! an apology and a "try again", in the language of their Telegram.

use std::sync::Arc;

use teloxide::prelude::*;

use super::HandlerResult;
use crate::dialogue::Language;
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

pub async fn message_unavailable(
    bot: GatewayBot,
    texts: Arc<Texts>,
    message: Message,
) -> HandlerResult {
    let language = Language::from_telegram(
        message
            .from
            .as_ref()
            .and_then(|user| user.language_code.as_deref()),
    );
    bot.send_message(message.chat.id, texts.get(language, key::UNAVAILABLE))
        .await?;
    Ok(())
}

pub async fn callback_unavailable(
    bot: GatewayBot,
    texts: Arc<Texts>,
    query: CallbackQuery,
) -> HandlerResult {
    let language = Language::from_telegram(query.from.language_code.as_deref());
    bot.answer_callback_query(query.id)
        .text(texts.get(language, key::UNAVAILABLE))
        .await?;
    Ok(())
}

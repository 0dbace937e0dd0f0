//! `/start`, `/help`, `/cancel` and the "My orders" button: the conversation's fixed points.

use std::sync::Arc;

use teloxide::prelude::*;

use super::HandlerResult;
use crate::attachments::DownloadLimit;
use crate::dialogue::{ChatDialogue, Conversation};
use crate::menu::main_menu;
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

/// Greets and shows the main menu. A draft in progress is kept: `/start` is often pressed
/// just to get the menu back.
pub async fn start(
    bot: GatewayBot,
    texts: Arc<Texts>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    // Stored now so the language chosen at first contact is remembered from here on.
    dialogue.update(conversation.clone()).await?;
    let language = conversation.language;
    let name = message.from.as_ref().map(|user| user.first_name.as_str()).unwrap_or_default();
    bot.send_message(message.chat.id, texts.format(language, key::GREETING, &[("name", name)]))
        .reply_markup(main_menu(&texts, language))
        .await?;
    Ok(())
}

pub async fn help(
    bot: GatewayBot,
    texts: Arc<Texts>,
    limit: DownloadLimit,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let limit_mb = limit.megabytes().to_string();
    bot.send_message(message.chat.id, texts.format(language, key::HELP, &[("limit_mb", &limit_mb)]))
        .reply_markup(main_menu(&texts, language))
        .await?;
    Ok(())
}

/// Drops the draft, if any, and goes back to the menu.
pub async fn cancel(
    bot: GatewayBot,
    texts: Arc<Texts>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let answer = if conversation.draft().is_some() {
        dialogue.update(conversation.idle()).await?;
        key::DRAFT_CANCELLED
    } else {
        key::DRAFT_NOTHING_TO_CANCEL
    };
    bot.send_message(message.chat.id, texts.get(language, answer))
        .reply_markup(main_menu(&texts, language))
        .await?;
    Ok(())
}

/// The order list is a later step; until then, point at `/status`.
pub async fn my_orders(bot: GatewayBot, texts: Arc<Texts>, conversation: Conversation, message: Message) -> HandlerResult {
    bot.send_message(message.chat.id, texts.get(conversation.language, key::MY_ORDERS_HINT)).await?;
    Ok(())
}

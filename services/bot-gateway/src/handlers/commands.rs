//! The conversation's fixed points: `/start`, `/help`, `/language`, `/cancel` and "Contact
//! us". They work in any stage.

use std::sync::Arc;

use teloxide::prelude::*;

use super::{Desk, HandlerResult};
use crate::dialogue::{ChatDialogue, Conversation, Language, MAX_FILES, Stage};
use crate::keyboards;
use crate::menu::main_menu;
use crate::telegram::GatewayBot;
use crate::texts::key;

/// Greets and shows the main menu, and on first contact offers the language choice. A draft
/// in progress is kept: `/start` is often pressed just to get the menu back.
pub async fn start(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let first_contact = dialogue.get().await.ok().flatten().is_none();
    // Stored now so the language chosen at first contact is remembered from here on.
    dialogue.update(conversation.clone()).await?;
    let language = conversation.language;
    let name = message
        .from
        .as_ref()
        .map(|user| user.first_name.as_str())
        .unwrap_or_default();
    bot.send_message(
        message.chat.id,
        desk.texts
            .format(language, key::GREETING, &[("name", name)]),
    )
    .reply_markup(main_menu(desk.texts.words(language)))
    .await?;
    if first_contact {
        bot.send_message(
            message.chat.id,
            desk.texts.get(language, key::LANGUAGE_PROMPT),
        )
        .reply_markup(keyboards::languages(&desk.texts))
        .await?;
    }
    Ok(())
}

pub async fn help(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let limit_mb = desk.files.limit.megabytes().to_string();
    let max_files = MAX_FILES.to_string();
    let text = desk.texts.format(
        language,
        key::HELP,
        &[("limit_mb", &limit_mb), ("max_files", &max_files)],
    );
    bot.send_message(message.chat.id, text)
        .reply_markup(main_menu(desk.texts.words(language)))
        .await?;
    Ok(())
}

pub async fn choose_language(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    bot.send_message(
        message.chat.id,
        desk.texts.get(conversation.language, key::LANGUAGE_PROMPT),
    )
    .reply_markup(keyboards::languages(&desk.texts))
    .await?;
    Ok(())
}

/// A language button: from now on we speak it, and the main menu is redrawn in it.
pub async fn set_language(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    mut conversation: Conversation,
    query: CallbackQuery,
    language: Language,
) -> HandlerResult {
    conversation.language = language;
    dialogue.update(conversation).await?;
    bot.answer_callback_query(query.id).await?;
    bot.send_message(
        dialogue.chat_id(),
        desk.texts.get(language, key::LANGUAGE_SET),
    )
    .reply_markup(main_menu(desk.texts.words(language)))
    .await?;
    Ok(())
}

/// Leaves whatever the customer was doing (a draft, a message to staff, a profile change)
/// and goes back to the menu. Nothing half-made is left behind: the stage is simply dropped.
pub async fn cancel(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let answer = match conversation.stage {
        Stage::Idle => key::NOTHING_TO_CANCEL,
        Stage::Drafting(_) => key::DRAFT_CANCELLED,
        Stage::WritingToStaff { .. } => key::WRITE_CANCELLED,
        Stage::UpdatingProfile(_) => key::PROFILE_UNCHANGED,
    };
    if answer != key::NOTHING_TO_CANCEL {
        dialogue.update(conversation.idle()).await?;
    }
    bot.send_message(message.chat.id, desk.texts.get(language, answer))
        .reply_markup(main_menu(desk.texts.words(language)))
        .await?;
    Ok(())
}

/// The business's contacts, from the `[business]` settings.
pub async fn contact(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let business = desk.business();
    let text = desk.texts.format(
        conversation.language,
        key::CONTACT,
        &[
            ("business", &business.name),
            ("phone", &business.phone),
            ("email", &business.email),
            ("hours", &business.hours),
        ],
    );
    bot.send_message(message.chat.id, text).await?;
    Ok(())
}

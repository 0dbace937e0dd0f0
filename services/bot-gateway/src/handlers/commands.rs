//! The conversation's fixed points: `/start`, `/help`, `/language` and its buttons,
//! `/cancel` and "Contact us". They work in any stage.

use teloxide::prelude::*;

use super::context::{Chat, Press};
use super::deferred::HandlerResult;
use crate::dialogue::{Conversation, Language, MAX_FILES, Stage};
use crate::keyboards;
use crate::menu::main_menu;
use crate::texts::key;

/// Greets and shows the main menu. On first contact, when the customer's Telegram is set
/// to a language we do not speak, the language is asked instead: the greeting's menu then
/// comes in the chosen language, with the answer. A draft in progress is kept: `/start` is
/// often pressed just to get the menu back. `/start <token>` (a deep link from the website's
/// "Link Telegram") joins this Telegram user to that web account.
pub async fn start(
    chat: Chat,
    mut conversation: Conversation,
    message: Message,
    payload: String,
) -> HandlerResult {
    let payload = payload.trim();
    if !payload.is_empty() {
        chat.save(conversation).await?;
        return super::link::join(chat, message, payload).await;
    }
    let from = message.from.as_ref();
    let language_known =
        Language::answered_by(from.and_then(|user| user.language_code.as_deref())).is_some();
    if chat.first_contact() && !language_known {
        conversation.greeting_pending = true;
        chat.save(conversation).await?;
        return choose_language(chat).await;
    }
    // Stored now so that the conversation exists from here on.
    chat.save(conversation).await?;
    let name = from
        .map(|user| user.first_name.as_str())
        .unwrap_or_default();
    let greeting = greeting(&chat.desk, chat.language, name).await;
    chat.reply_with(
        greeting.unwrap_or_else(|| chat.format(key::GREETING, &[("name", name)])),
        main_menu(chat.words()),
    );
    Ok(())
}

/// The greeting an admin wrote in the back office for `language` (with `{name}` filled
/// in), read on each use; `None`: the bot's own.
async fn greeting(desk: &crate::desk::Desk, language: Language, name: &str) -> Option<String> {
    let details = desk.business().await;
    details
        .greeting(language.tag())
        .map(|text| text.replace("{name}", name))
}

pub async fn help(chat: Chat) -> HandlerResult {
    let limit_mb = chat.desk.files.limit.megabytes().to_string();
    let max_files = MAX_FILES.to_string();
    let text = chat.format(
        key::HELP,
        &[("limit_mb", &limit_mb), ("max_files", &max_files)],
    );
    chat.reply_with(text, main_menu(chat.words()));
    Ok(())
}

/// `/language`: the languages, each named in itself.
pub async fn choose_language(chat: Chat) -> HandlerResult {
    chat.reply_with(
        chat.text(key::LANGUAGE_PROMPT),
        keyboards::languages(&chat.desk.texts),
    );
    Ok(())
}

/// A language button: from now on we speak it, and the main menu is redrawn in it (with
/// the greeting, when the language was asked before it).
pub async fn set_language(
    press: Press,
    mut conversation: Conversation,
    language: Language,
) -> HandlerResult {
    conversation.language = language;
    let greet = std::mem::take(&mut conversation.greeting_pending);
    press.save(conversation).await?;
    let words = press.desk.texts.words(language);
    let text = if greet {
        let name = &press.user().first_name;
        greeting(&press.desk, language, name)
            .await
            .unwrap_or_else(|| words.format(key::GREETING, &[("name", name)]))
    } else {
        words.get(key::LANGUAGE_SET)
    };
    press.reply_with(text, main_menu(words));
    Ok(())
}

/// Leaves whatever the customer was doing (a draft, a message to staff, a profile change)
/// and goes back to the menu. Nothing half-made is left behind: the stage is simply dropped.
pub async fn cancel(chat: Chat, conversation: Conversation) -> HandlerResult {
    let answer = match conversation.stage {
        Stage::Idle => key::NOTHING_TO_CANCEL,
        Stage::Drafting(_) => key::DRAFT_CANCELLED,
        Stage::WritingToStaff { .. } => key::WRITE_CANCELLED,
        Stage::UpdatingProfile(_) => key::PROFILE_UNCHANGED,
    };
    if conversation.stage != Stage::Idle {
        super::booking::release_draft(&chat, &conversation).await?;
        chat.save(conversation.idle()).await?;
    }
    chat.reply_with(chat.text(answer), main_menu(chat.words()));
    Ok(())
}

/// The business's contacts as an admin last saved them (else the `[business]` settings).
pub async fn contact(chat: Chat) -> HandlerResult {
    let business = chat.desk.business().await;
    chat.reply(chat.format(
        key::CONTACT,
        &[
            ("business", &business.name),
            ("phone", &business.phone),
            ("email", &business.email),
            ("hours", &business.hours),
        ],
    ));
    Ok(())
}

//! Putting an order together: text and files go into the chat's draft, each answered with
//! the Confirm / Cancel buttons. What the draft refuses leaves it exactly as it was.

use std::sync::Arc;

use teloxide::prelude::*;

use super::HandlerResult;
use crate::attachments::{DownloadLimit, IncomingFile};
use crate::dialogue::{ChatDialogue, Conversation, Draft, DraftRefusal, Language, MAX_DESCRIPTION_CHARS, MAX_FILES};
use crate::draft_buttons::draft_buttons;
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

/// "New order": opens an empty draft, or points at the one already open.
pub async fn start_new(
    bot: GatewayBot,
    texts: Arc<Texts>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let (draft, answer) = match conversation.draft() {
        Some(draft) => (draft.clone(), key::DRAFT_IN_PROGRESS),
        None => {
            let draft = Draft::new();
            dialogue.update(conversation.drafting(draft.clone())).await?;
            (draft, key::DRAFT_PROMPT)
        }
    };
    bot.send_message(message.chat.id, texts.get(language, answer))
        .reply_markup(draft_buttons(&texts, language, draft.order_id))
        .await?;
    Ok(())
}

/// Any other text describes the order: it starts a draft or extends its description.
pub async fn add_text(
    bot: GatewayBot,
    texts: Arc<Texts>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
    text: String,
) -> HandlerResult {
    let language = conversation.language;
    let mut draft = conversation.draft_or_new();
    if let Err(refusal) = draft.append_text(&text) {
        bot.send_message(message.chat.id, refusal_text(&texts, language, refusal)).await?;
        return Ok(());
    }
    dialogue.update(conversation.drafting(draft.clone())).await?;
    bot.send_message(message.chat.id, texts.get(language, key::DRAFT_TEXT_SAVED))
        .reply_markup(draft_buttons(&texts, language, draft.order_id))
        .await?;
    Ok(())
}

/// A document or photo joins the draft, unless Telegram would not let us download it.
pub async fn add_file(
    bot: GatewayBot,
    texts: Arc<Texts>,
    limit: DownloadLimit,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
    file: IncomingFile,
) -> HandlerResult {
    let language = conversation.language;
    if file.exceeds(limit) {
        let limit_mb = limit.megabytes().to_string();
        let refusal = texts.format(language, key::DRAFT_FILE_TOO_LARGE, &[("name", &file.name), ("limit_mb", &limit_mb)]);
        bot.send_message(message.chat.id, refusal).await?;
        return Ok(());
    }
    let mut draft = conversation.draft_or_new();
    let count = match draft.add_file(file.into_draft_file()) {
        Ok(count) => count,
        Err(refusal) => {
            bot.send_message(message.chat.id, refusal_text(&texts, language, refusal)).await?;
            return Ok(());
        }
    };
    dialogue.update(conversation.drafting(draft.clone())).await?;
    let count = count.to_string();
    bot.send_message(message.chat.id, texts.format(language, key::DRAFT_FILE_RECEIVED, &[("count", &count)]))
        .reply_markup(draft_buttons(&texts, language, draft.order_id))
        .await?;
    Ok(())
}

/// Stickers, locations, voice messages and the like.
pub async fn unsupported(bot: GatewayBot, texts: Arc<Texts>, conversation: Conversation, message: Message) -> HandlerResult {
    bot.send_message(message.chat.id, texts.get(conversation.language, key::UNSUPPORTED)).await?;
    Ok(())
}

fn refusal_text(texts: &Texts, language: Language, refusal: DraftRefusal) -> String {
    match refusal {
        DraftRefusal::DescriptionTooLong => {
            texts.format(language, key::DRAFT_TOO_LONG, &[("limit", &MAX_DESCRIPTION_CHARS.to_string())])
        }
        DraftRefusal::TooManyFiles => {
            texts.format(language, key::DRAFT_TOO_MANY_FILES, &[("limit", &MAX_FILES.to_string())])
        }
    }
}

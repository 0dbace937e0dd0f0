//! From a finished draft to a placed order: Done shows the summary (service, text, files)
//! with Confirm / Edit / Cancel; Edit changes the service or clears text or files; Confirm
//! places the order.
//!
//! Confirm carries the draft's revision, so only a summary that still shows the draft as it
//! is can place it. A customer we do not know yet is registered first (name, then phone, see
//! [`registration`](super::registration)), after which the order is placed without another
//! tap (see [`placing`](super::placing)). These buttons act only on the draft in progress
//! (the schema checks it); any other press of them is "outdated".

use super::context::{Chat, Press};
use super::deferred::HandlerResult;
use super::placing::place_order;
use crate::dialogue::{Conversation, Draft, DraftStep, Registration};
use crate::keyboards;
use crate::menu::{main_menu, name_suggestion};
use crate::texts::key;
use bureau_kit::text::clip;

/// The longest part of the description a summary quotes: a message holds 4,096 characters.
const SUMMARY_DESCRIPTION_CHARS: usize = 1_500;

/// Done: the summary of the draft, as a new message, with Confirm / Edit / Cancel.
pub async fn summarize(press: Press, draft: Draft) -> HandlerResult {
    if draft.is_empty() {
        press.answer(key::DRAFT_EMPTY);
        return Ok(());
    }
    let text = summary_text(&press, &draft).await?;
    press.reply_with(text, keyboards::summary(press.words(), &draft));
    Ok(())
}

async fn summary_text(chat: &Chat, draft: &Draft) -> Result<String, sqlx::Error> {
    let words = chat.words();
    let service = match &draft.service {
        Some(service) => chat
            .desk
            .catalogue
            .name_of(&service.code, chat.language)
            .await?
            .unwrap_or_else(|| service.code.clone()),
        None => words.get(key::SERVICE_OTHER),
    };
    let description = match draft.description.trim() {
        "" => words.get(key::DRAFT_NO_TEXT),
        text => clip(text, SUMMARY_DESCRIPTION_CHARS),
    };
    let mut files: Vec<String> = draft
        .files
        .iter()
        .map(|file| words.file_line(&file.name, file.size))
        .collect();
    files.extend(draft.large_files.iter().map(|file| {
        let size = words.size(file.size);
        let line = words.format(
            key::DRAFT_LARGE_FILE_LINE,
            &[("name", &file.name), ("size", &size)],
        );
        format!("• {line}")
    }));
    let files = if files.is_empty() {
        words.get(key::DRAFT_NO_FILES)
    } else {
        files.join("\n")
    };
    Ok(words.format(
        key::DRAFT_SUMMARY,
        &[
            ("service", &service),
            ("description", &description),
            ("files", &files),
        ],
    ))
}

/// Edit: what may be changed, in place of the summary.
pub async fn edit(press: Press, draft: Draft) -> HandlerResult {
    press.show(
        press.text(key::DRAFT_EDIT),
        keyboards::edit(press.words(), draft.order_id),
    );
    Ok(())
}

/// Clear the description.
pub async fn clear_text(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.clear_description();
    press.save(conversation.drafting(draft)).await?;
    press.answer(key::DRAFT_TEXT_CLEARED);
    Ok(())
}

/// Remove the files.
pub async fn clear_files(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.clear_files();
    press.save(conversation.drafting(draft)).await?;
    press.answer(key::DRAFT_FILES_CLEARED);
    Ok(())
}

/// Confirm: places the order as the summary showed it (registering a new customer first).
pub async fn confirm(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
    revision: u32,
) -> HandlerResult {
    if revision != draft.revision {
        // The draft changed after this summary was shown: it is not what the customer saw.
        return press.outdated();
    }
    if draft.is_empty() {
        press.answer(key::DRAFT_EMPTY);
        return Ok(());
    }
    if conversation.profile.is_none() {
        // First order: who the customer is comes first; the order is placed right after.
        draft.step = DraftStep::Registering(Registration::Name);
        press.save(conversation.drafting(draft)).await?;
        press.reply_with(
            press.text(key::REGISTER_NAME),
            name_suggestion(&press.user().full_name()),
        );
        return Ok(());
    }
    place_order(&press, &conversation, &draft, press.user()).await
}

/// Cancel: the draft is dropped.
pub async fn cancel(press: Press, conversation: Conversation) -> HandlerResult {
    press.save(conversation.idle()).await?;
    press.reply_with(press.text(key::DRAFT_CANCELLED), main_menu(press.words()));
    Ok(())
}

//! Putting an order together: the service from the catalogue, then text and files into the
//! chat's draft, each answered with the Done / Cancel buttons. What the draft refuses leaves
//! it exactly as it was, and the customer is told why.

use std::sync::Arc;

use teloxide::prelude::*;
use uuid::Uuid;

use super::{Desk, HandlerResult, album, show};
use crate::attachments::{FileOutcome, IncomingFile};
use crate::dialogue::{
    ChatDialogue, ChosenService, Conversation, Draft, DraftRefusal, DraftStep, Language,
    MAX_DESCRIPTION_CHARS, MAX_FILES,
};
use crate::keyboards;
use crate::telegram::GatewayBot;
use crate::texts::{Texts, key};

/// "New order": the catalogue's top level for a fresh draft, or a pointer to the open one.
pub async fn start_new(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    if let Some(draft) = conversation.draft() {
        return point_to_open_draft(&bot, &desk, message.chat.id, language, draft).await;
    }
    let mut draft = Draft::new();
    draft.step = DraftStep::ChoosingService;
    let Some(level) = desk.catalogue.level(0, language).await? else {
        return Err("the catalogue's top level is always there".into());
    };
    dialogue
        .update(conversation.drafting(draft.clone()))
        .await?;
    bot.send_message(
        message.chat.id,
        desk.texts.get(language, key::CATALOGUE_PROMPT),
    )
    .reply_markup(keyboards::catalogue(
        desk.texts.words(language),
        draft.order_id,
        &level,
    ))
    .await?;
    Ok(())
}

/// Answers an action that would start over while a draft is open: the draft's buttons,
/// so the customer finishes or cancels it first and nothing is silently dropped.
pub(super) async fn point_to_open_draft(
    bot: &GatewayBot,
    desk: &Desk,
    chat_id: ChatId,
    language: Language,
    draft: &Draft,
) -> HandlerResult {
    bot.send_message(chat_id, desk.texts.get(language, key::DRAFT_IN_PROGRESS))
        .reply_markup(keyboards::collecting(
            desk.texts.words(language),
            draft.order_id,
        ))
        .await?;
    Ok(())
}

/// A catalogue category button: shows its level in place.
pub async fn open_category(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    draft: &Draft,
    category: u32,
) -> HandlerResult {
    let language = conversation.language;
    let Some(level) = desk.catalogue.level(category, language).await? else {
        return super::buttons::answer_outdated(bot, &desk.texts, language, query).await;
    };
    let text = match &level.category {
        Some(opened) => desk.texts.format(
            language,
            key::CATALOGUE_CATEGORY,
            &[("category", &opened.name)],
        ),
        None => desk.texts.get(language, key::CATALOGUE_PROMPT),
    };
    bot.answer_callback_query(query.id.clone()).await?;
    show(
        bot,
        chat_id,
        query,
        text,
        keyboards::catalogue(desk.texts.words(language), draft.order_id, &level),
    )
    .await
}

/// A service button (or "Other", `service: None`): the draft gets it and asks for the rest.
pub async fn choose_service(
    bot: &GatewayBot,
    desk: &Desk,
    dialogue: &ChatDialogue,
    conversation: &Conversation,
    query: &CallbackQuery,
    mut draft: Draft,
    service: Option<u32>,
) -> HandlerResult {
    let language = conversation.language;
    let (chosen, name) = match service {
        Some(id) => match desk.catalogue.service(id, language).await? {
            Some(service) => (
                Some(ChosenService {
                    id: service.id,
                    code: service.code,
                }),
                service.name,
            ),
            None => {
                return super::buttons::answer_outdated(bot, &desk.texts, language, query).await;
            }
        },
        None => (None, desk.texts.get(language, key::SERVICE_OTHER)),
    };
    draft.choose_service(chosen);
    let order_id = draft.order_id;
    dialogue.update(conversation.drafting(draft)).await?;
    bot.answer_callback_query(query.id.clone()).await?;
    let text = desk
        .texts
        .format(language, key::SERVICE_CHOSEN, &[("service", &name)]);
    show(
        bot,
        dialogue.chat_id(),
        query,
        text,
        keyboards::collecting(desk.texts.words(language), order_id),
    )
    .await
}

/// Any other text describes the order: it starts a draft or extends its description.
pub async fn add_text(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
    text: String,
) -> HandlerResult {
    let language = conversation.language;
    if text.trim().is_empty() {
        bot.send_message(message.chat.id, desk.texts.get(language, key::DRAFT_EMPTY))
            .await?;
        return Ok(());
    }
    let mut draft = conversation.draft_or_new();
    if let Err(refusal) = draft.append_text(&text) {
        bot.send_message(
            message.chat.id,
            refusal_text(&desk.texts, language, refusal),
        )
        .await?;
        return Ok(());
    }
    dialogue
        .update(conversation.drafting(draft.clone()))
        .await?;
    bot.send_message(
        message.chat.id,
        desk.texts.get(language, key::DRAFT_TEXT_SAVED),
    )
    .reply_markup(keyboards::collecting(
        desk.texts.words(language),
        draft.order_id,
    ))
    .await?;
    Ok(())
}

/// A file joins the draft, unless its type is refused, it is too large for the Bot API (then
/// it waits for an upload link), or the draft is full. Album items are answered together.
pub async fn add_file(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
    file: IncomingFile,
) -> HandlerResult {
    let language = conversation.language;
    let mut draft = conversation.draft_or_new();
    let name = file.name.clone();
    let album_id = file.media_group.clone();
    let outcome = desk.files.admit(&mut draft, file);

    if let Some(group_id) = album_id {
        let (draft, finished) = album::note(draft, &group_id, &name, &outcome);
        if let Some(finished) = finished {
            // Another album was still waiting for its answer: it is complete now.
            album::answer(&bot, &desk, language, dialogue.chat_id(), &finished, &draft).await?;
        }
        let items = draft.album.as_ref().map_or(0, |album| album.items);
        dialogue.update(conversation.drafting(draft)).await?;
        album::answer_when_complete(bot, desk.clone(), dialogue.chat_id(), group_id, items);
        return Ok(());
    }

    let limit_mb = desk.files.limit.megabytes().to_string();
    let reply = match outcome {
        FileOutcome::Added => {
            let count = draft.file_count().to_string();
            desk.texts
                .format(language, key::DRAFT_FILE_RECEIVED, &[("count", &count)])
        }
        FileOutcome::TooLarge => desk.texts.format(
            language,
            key::DRAFT_FILE_TOO_LARGE,
            &[("name", &name), ("limit_mb", &limit_mb)],
        ),
        FileOutcome::TooLargeNoLinks => {
            let text = desk.texts.format(
                language,
                key::DRAFT_FILE_TOO_LARGE_NO_LINKS,
                &[("name", &name), ("limit_mb", &limit_mb)],
            );
            bot.send_message(message.chat.id, text).await?;
            return Ok(());
        }
        FileOutcome::RefusedType => {
            bot.send_message(
                message.chat.id,
                desk.texts
                    .format(language, key::DRAFT_FILE_REFUSED, &[("name", &name)]),
            )
            .await?;
            return Ok(());
        }
        FileOutcome::DraftFull => {
            bot.send_message(
                message.chat.id,
                refusal_text(&desk.texts, language, DraftRefusal::TooManyFiles),
            )
            .await?;
            return Ok(());
        }
    };
    dialogue
        .update(conversation.drafting(draft.clone()))
        .await?;
    bot.send_message(message.chat.id, reply)
        .reply_markup(keyboards::collecting(
            desk.texts.words(language),
            draft.order_id,
        ))
        .await?;
    Ok(())
}

/// Stickers, locations, polls and the like.
pub async fn unsupported(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    bot.send_message(
        message.chat.id,
        desk.texts.get(conversation.language, key::UNSUPPORTED),
    )
    .await?;
    Ok(())
}

pub fn refusal_text(texts: &Texts, language: Language, refusal: DraftRefusal) -> String {
    match refusal {
        DraftRefusal::DescriptionTooLong => texts.format(
            language,
            key::DRAFT_TOO_LONG,
            &[("limit", &MAX_DESCRIPTION_CHARS.to_string())],
        ),
        DraftRefusal::TooManyFiles => texts.format(
            language,
            key::DRAFT_TOO_MANY_FILES,
            &[("limit", &MAX_FILES.to_string())],
        ),
    }
}

/// The draft a button was drawn for, if it is still the one in progress.
pub fn current_draft(conversation: &Conversation, draft: Uuid) -> Option<&Draft> {
    conversation
        .draft()
        .filter(|current| current.order_id == draft)
}

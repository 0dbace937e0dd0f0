//! Putting an order together: "New order" opens the catalogue for a fresh draft, its buttons
//! choose the service, then text and files go into the draft, each answered with the Done /
//! Cancel buttons. What the draft refuses leaves it exactly as it was, and the customer is
//! told why. (Albums are answered together: see [`album`](super::album).)

use super::context::{Chat, Press};
use super::deferred::HandlerResult;
use crate::attachments::{FileOutcome, IncomingFile};
use crate::dialogue::{
    ChosenService, Conversation, Draft, DraftRefusal, DraftStep, MAX_DESCRIPTION_CHARS, MAX_FILES,
};
use crate::keyboards;
use crate::texts::{Words, key};

/// "New order": the catalogue's top level for a fresh draft, or a pointer to the open one.
pub async fn start_new(chat: Chat, conversation: Conversation) -> HandlerResult {
    if let Some(draft) = conversation.draft() {
        chat.point_to_open_draft(draft);
        return Ok(());
    }
    let mut draft = Draft::new();
    draft.step = DraftStep::ChoosingService;
    let level = chat
        .desk
        .catalogue
        .level(0, chat.language)
        .await?
        .ok_or("the catalogue's top level is always there")?;
    chat.save(conversation.drafting(draft.clone())).await?;
    chat.reply_with(
        chat.text(key::CATALOGUE_PROMPT),
        keyboards::catalogue(chat.words(), draft.order_id, &level),
    );
    Ok(())
}

/// A catalogue category button: shows its level in place.
pub async fn open_category(press: Press, draft: Draft, category: u32) -> HandlerResult {
    let Some(level) = press.desk.catalogue.level(category, press.language).await? else {
        return press.outdated();
    };
    let text = match &level.category {
        Some(opened) => press.format(key::CATALOGUE_CATEGORY, &[("category", &opened.name)]),
        None => press.text(key::CATALOGUE_PROMPT),
    };
    press.show(
        text,
        keyboards::catalogue(press.words(), draft.order_id, &level),
    );
    Ok(())
}

/// "Change the service" (under Edit): the catalogue's top level, in place.
pub async fn change_service(press: Press, draft: Draft) -> HandlerResult {
    open_category(press, draft, 0).await
}

/// A service button: the draft gets it and asks for the rest.
pub async fn choose_service(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
    service: u32,
) -> HandlerResult {
    let Some(service) = press
        .desk
        .catalogue
        .service(service, press.language)
        .await?
    else {
        return press.outdated();
    };
    draft.choose_service(Some(ChosenService {
        id: service.id,
        code: service.code,
    }));
    service_chosen(press, conversation, draft, service.name).await
}

/// "Other": none of the catalogue's services.
pub async fn choose_other(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.choose_service(None);
    let name = press.text(key::SERVICE_OTHER);
    service_chosen(press, conversation, draft, name).await
}

async fn service_chosen(
    press: Press,
    conversation: Conversation,
    draft: Draft,
    name: String,
) -> HandlerResult {
    let order_id = draft.order_id;
    press.save(conversation.drafting(draft)).await?;
    press.show(
        press.format(key::SERVICE_CHOSEN, &[("service", &name)]),
        keyboards::collecting(press.words(), order_id),
    );
    Ok(())
}

/// Any other text describes the order: it starts a draft or extends its description.
pub async fn add_text(chat: Chat, conversation: Conversation, text: String) -> HandlerResult {
    if text.trim().is_empty() {
        chat.reply(chat.text(key::DRAFT_EMPTY));
        return Ok(());
    }
    let mut draft = conversation.draft_or_new();
    if let Err(refusal) = draft.append_text(&text) {
        chat.reply(refusal_text(chat.words(), refusal));
        return Ok(());
    }
    chat.save(conversation.drafting(draft.clone())).await?;
    chat.reply_with(
        chat.text(key::DRAFT_TEXT_SAVED),
        keyboards::collecting(chat.words(), draft.order_id),
    );
    Ok(())
}

/// A file (not part of an album) joins the draft, unless the file policy or the draft's
/// bounds say otherwise; a file too large for the Bot API waits for an upload link.
pub async fn add_file(chat: Chat, conversation: Conversation, file: IncomingFile) -> HandlerResult {
    let mut draft = conversation.draft_or_new();
    let name = file.name.clone();
    let outcome = chat.desk.files.admit(&mut draft, file);
    let text = file_answer(&chat, &outcome, &name, &draft);
    if !matches!(outcome, FileOutcome::Added | FileOutcome::TooLarge) {
        chat.reply(text);
        return Ok(());
    }
    chat.save(conversation.drafting(draft.clone())).await?;
    chat.reply_with(text, keyboards::collecting(chat.words(), draft.order_id));
    Ok(())
}

/// What the customer is told about one file.
fn file_answer(chat: &Chat, outcome: &FileOutcome, name: &str, draft: &Draft) -> String {
    let words = chat.words();
    let limit_mb = chat.desk.files.limit.megabytes().to_string();
    match outcome {
        FileOutcome::Added => {
            let count = draft.file_count().to_string();
            words.format(key::DRAFT_FILE_RECEIVED, &[("count", &count)])
        }
        FileOutcome::TooLarge => words.format(
            key::DRAFT_FILE_TOO_LARGE,
            &[("name", name), ("limit_mb", &limit_mb)],
        ),
        FileOutcome::TooLargeNoLinks => words.format(
            key::DRAFT_FILE_TOO_LARGE_NO_LINKS,
            &[("name", name), ("limit_mb", &limit_mb)],
        ),
        FileOutcome::RefusedType => words.format(key::DRAFT_FILE_REFUSED, &[("name", name)]),
        FileOutcome::Empty => words.format(key::DRAFT_FILE_EMPTY, &[("name", name)]),
        FileOutcome::DraftFull => refusal_text(words, DraftRefusal::TooManyFiles),
    }
}

/// Stickers, locations, polls and the like.
pub async fn unsupported(chat: Chat) -> HandlerResult {
    chat.reply(chat.text(key::UNSUPPORTED));
    Ok(())
}

fn refusal_text(words: Words, refusal: DraftRefusal) -> String {
    match refusal {
        DraftRefusal::DescriptionTooLong => words.format(
            key::DRAFT_TOO_LONG,
            &[("limit", &MAX_DESCRIPTION_CHARS.to_string())],
        ),
        DraftRefusal::TooManyFiles => words.format(
            key::DRAFT_TOO_MANY_FILES,
            &[("limit", &MAX_FILES.to_string())],
        ),
    }
}

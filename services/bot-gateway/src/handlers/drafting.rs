//! Putting an order together: "New order" sends the order's card showing the catalogue for
//! a fresh draft; its buttons choose the service, then text and files go into the draft,
//! answered by the card, edited in place (see [`card`](super::card)) once the customer
//! stops sending for a moment: one edit per burst of texts and files, not one each. What the draft
//! refuses leaves it exactly as it was, and the customer is told why. (Albums are answered
//! together: see [`album`](super::album).)

use super::card;
use super::cart;
use super::context::{Chat, Press};
use super::deferred::HandlerResult;
use crate::attachments::{FileOutcome, IncomingFile};
use crate::dialogue::{
    Conversation, Draft, DraftRefusal, DraftStep, MAX_DESCRIPTION_CHARS, MAX_FILES,
};
use crate::keyboards;
use crate::pricing;
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
    chat.show_card(
        &draft,
        chat.text(key::CATALOGUE_PROMPT),
        keyboards::catalogue(chat.words(), draft.order_id, &level),
    );
    Ok(())
}

/// A catalogue category button: shows its level on the card.
pub async fn open_category(press: Press, draft: Draft, category: u32) -> HandlerResult {
    let Some(level) = press.desk.catalogue.level(category, press.language).await? else {
        return press.outdated();
    };
    let text = match &level.category {
        Some(opened) => press.format(key::CATALOGUE_CATEGORY, &[("category", &opened.name)]),
        None => press.text(key::CATALOGUE_PROMPT),
    };
    press.show_card(
        &draft,
        text,
        keyboards::catalogue(press.words(), draft.order_id, &level),
    );
    Ok(())
}

/// "Change the service" (under Edit): the catalogue's top level, in place.
pub async fn change_service(press: Press, draft: Draft) -> HandlerResult {
    open_category(press, draft, 0).await
}

/// A service button: one of it goes into the cart, at the price list's price, and the card
/// shows the cart.
pub async fn choose_service(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
    service: u32,
) -> HandlerResult {
    let service_id = service;
    let Some((service, price)) =
        pricing::orderable(press.desk.pool(), service, press.language).await?
    else {
        return press.outdated();
    };
    // A draft stored before carts existed: its one service goes into the cart first.
    pricing::reprice(press.desk.pool(), &mut draft, press.language).await?;
    if let Err(refusal) = draft.add_item(service, price) {
        cart::answer_refusal(&press, refusal);
        return Ok(());
    }
    press.answer(key::CART_ADDED);
    let chosen = draft.clone();
    service_chosen(press.clone(), conversation, draft).await?;
    // A bookable service: its calendar, under the card.
    let user_id = press.user_id();
    super::booking::offer_calendar(&press, user_id, &chosen, service_id).await
}

/// "Other": none of the catalogue's services; the cart is emptied.
pub async fn choose_other(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.clear_cart();
    service_chosen(press, conversation, draft).await
}

/// The card shows the service and asks for the rest.
async fn service_chosen(
    press: Press,
    conversation: Conversation,
    mut draft: Draft,
) -> HandlerResult {
    draft.step = DraftStep::Collecting;
    press.save(conversation.drafting(draft.clone())).await?;
    card::show(&press, &draft).await?;
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
    draft.step = DraftStep::Collecting;
    chat.save_folding_card(conversation.drafting(draft.clone()), &draft)
        .await?;
    Ok(())
}

/// A file (not part of an album) joins the draft, unless the file policy or the draft's
/// bounds say otherwise; a file too large for the Bot API waits for an upload link.
pub async fn add_file(chat: Chat, conversation: Conversation, file: IncomingFile) -> HandlerResult {
    let mut draft = conversation.draft_or_new();
    let name = file.name.clone();
    let outcome = chat.desk.files.admit(&mut draft, file);
    if let Some(text) = file_refusal(&chat, &outcome, &name) {
        chat.reply(text);
    }
    if !matches!(outcome, FileOutcome::Added | FileOutcome::TooLarge) {
        return Ok(());
    }
    draft.step = DraftStep::Collecting;
    chat.save_folding_card(conversation.drafting(draft.clone()), &draft)
        .await?;
    Ok(())
}

/// What the customer is told about one file beyond the card, if anything: why it was not
/// taken, or how a file too large for Telegram will reach us.
fn file_refusal(chat: &Chat, outcome: &FileOutcome, name: &str) -> Option<String> {
    let words = chat.words();
    let limit_mb = chat.desk.files.limit.megabytes().to_string();
    Some(match outcome {
        FileOutcome::Added => return None,
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
    })
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

//! The order's card: one message that shows the draft (cart, description, files) with
//! its buttons, sent once and edited in place as the draft grows, so an order costs the
//! customer's chat (and Telegram's limits) one message rather than one per step. The
//! catalogue is the card too while the service is chosen. A time booked for the order
//! shows on it (in the business's time zone).

use teloxide::types::InlineKeyboardMarkup;

use bureau_kit::text::clip;

use super::context::Chat;
use crate::desk::Desk;
use crate::dialogue::{Draft, Language};
use crate::keyboards;
use crate::pricing;
use crate::replies::Reply;
use crate::texts::key;

/// The longest part of the description a card quotes: a message holds 4,096 characters.
const CARD_DESCRIPTION_CHARS: usize = 1_500;

/// Shows the draft on its card, with the buttons its state allows.
pub async fn show(chat: &Chat, draft: &Draft) -> Result<(), sqlx::Error> {
    let hint = if draft.is_empty() {
        key::DRAFT_CARD_EMPTY
    } else {
        key::DRAFT_CARD_READY
    };
    let text = text(&chat.desk, chat.language, draft, hint).await?;
    chat.show_card(draft, text, keyboards::card(chat.words(), draft));
    Ok(())
}

/// Shows the draft on its card with `hint` under it and `keyboard`.
pub async fn show_with(
    chat: &Chat,
    draft: &Draft,
    hint: &str,
    keyboard: InlineKeyboardMarkup,
) -> Result<(), sqlx::Error> {
    let text = text(&chat.desk, chat.language, draft, hint).await?;
    chat.show_card(draft, text, keyboard);
    Ok(())
}

/// The draft's card as a reply said outside any update (an album's answer).
pub async fn reply(desk: &Desk, language: Language, draft: &Draft) -> Result<Reply, sqlx::Error> {
    let hint = if draft.is_empty() {
        key::DRAFT_CARD_EMPTY
    } else {
        key::DRAFT_CARD_READY
    };
    Ok(Reply::Card {
        order_id: draft.order_id,
        message: draft.card,
        text: text(desk, language, draft, hint).await?,
        keyboard: keyboards::card(desk.texts.words(language), draft),
    })
}

/// The card's text: service, description, files, and the hint under `hint`.
async fn text(
    desk: &Desk,
    language: Language,
    draft: &Draft,
    hint: &str,
) -> Result<String, sqlx::Error> {
    let words = desk.texts.words(language);
    let ids: Vec<u32> = draft.items.iter().map(|item| item.service_id).collect();
    let names = pricing::listed(desk.pool(), &ids, language).await?;
    let mut cart = pricing::cart_text(words, draft, &names);
    // The time booked for it (the booking holds the draft's order id), in the business's zone.
    if let Some(time) = bureau_scheduling::booked::of_order(desk.pool(), draft.order_id).await? {
        let zone = desk.business().await.zone();
        let tag = language.tag();
        let line = words.format(
            key::BOOKING_CARD_LINE,
            &[
                ("service", &time.service(tag)),
                ("when", &time.when(&zone, tag)),
            ],
        );
        cart = format!("{}\n{line}", cart.trim_end());
    }
    let description = match draft.description.trim() {
        "" => words.get(key::DRAFT_NO_TEXT),
        text => clip(text, CARD_DESCRIPTION_CHARS),
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
        key::DRAFT_CARD,
        &[
            ("cart", &cart),
            ("description", &description),
            ("files", &files),
            ("hint", &words.get(hint)),
        ],
    ))
}

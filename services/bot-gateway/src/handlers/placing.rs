//! Placing a confirmed draft, from Confirm or from the last registration step: its events
//! published in one batch, and only then the order number told (with upload links for files
//! too large for Telegram).
//!
//! If the broker does not confirm, the update is deferred: the draft stays as it was,
//! Telegram delivers the update again, and that second delivery publishes the very same
//! events (their ids derive from the draft), so one draft can never become two orders.
//! Once published, the order exists whatever else fails: its number is a reply like any
//! other, kept and said when Telegram takes it (see [`replies`](crate::replies)).

use chrono::Utc;
use teloxide::types::{InlineKeyboardMarkup, User};

use super::booking::{self, AtConfirm};
use super::card;
use super::context::{Chat, telegram_user_id};
use super::deferred::HandlerResult;
use super::payments;
use crate::dialogue::{Conversation, Draft, DraftStep};
use crate::menu::main_menu;
use crate::pricing;
use crate::publish::{TelegramCustomer, order_events};
use crate::texts::key;

/// Where the order number is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Announce {
    /// On the order's card, edited in place: the main menu is still the keyboard.
    OnTheCard,
    /// In a new message that brings the main menu back (after registration's keyboards).
    WithTheMenu,
}

/// Publishes the draft's events for the customer `from` and, once the broker has them,
/// tells the number.
pub async fn place_order(
    chat: &Chat,
    conversation: &Conversation,
    draft: &Draft,
    from: &User,
    announce: Announce,
) -> HandlerResult {
    let order_id = draft.order_id;
    // The price list is read again: the order is placed only at the prices the customer saw.
    let mut repriced_draft = draft.clone();
    let repriced = pricing::reprice(chat.desk.pool(), &mut repriced_draft, chat.language).await?;
    if repriced.anything() {
        tracing::info!(%order_id, ?repriced, "prices changed during checkout; the customer is shown them");
        return prices_changed(chat, conversation, repriced_draft, &repriced).await;
    }
    if draft.is_empty() {
        // Its services were all withdrawn, and there is nothing else to order.
        chat.reply(chat.text(key::DRAFT_EMPTY));
        return Ok(());
    }
    // The draft's held time joins the order before the order is sent, so the hold cannot
    // run out under an order already placed; one that ran out before is said instead.
    let joined = match booking::join_draft(chat, telegram_user_id(from), draft).await? {
        AtConfirm::Send(joined) => joined,
        AtConfirm::Expired { told, service_id } => {
            return hold_expired(
                chat,
                conversation,
                draft,
                from,
                (told, service_id),
                announce,
            )
            .await;
        }
    };
    let customer = TelegramCustomer {
        user_id: telegram_user_id(from),
        chat_id: chat.id.0,
        display_name: from.full_name(),
        username: from.username.clone(),
        language: chat.language,
        profile: conversation.profile.clone(),
    };
    let events = order_events(draft, &customer, Utc::now());
    if let Err(deferred) = chat
        .publish_or_defer(&format!("order {order_id}"), &events, key::ORDER_DEFERRED)
        .await
    {
        if let Some(booking_id) = joined {
            booking::hold_again(chat, telegram_user_id(from), booking_id).await;
        }
        return Err(deferred);
    }
    tracing::info!(%order_id, order_number = %draft.order_number, files = draft.files.len(), "order accepted");
    let accepted = chat.format(key::ORDER_ACCEPTED, &[("number", &draft.order_number)]);
    match announce {
        Announce::OnTheCard => chat.show_card(draft, accepted, InlineKeyboardMarkup::default()),
        Announce::WithTheMenu => chat.reply_with(accepted, main_menu(chat.words())),
    }
    if !draft.large_files.is_empty() {
        chat.reply(upload_text(chat, draft).await);
    }
    // A cart with a total is paid at once; an order on quote waits for its price.
    if let Some(total) = pricing::total(draft)
        && chat.bot.payment_token().is_some()
        && let Some(invoice) =
            payments::invoice(chat.words(), order_id, &draft.order_number, &total)
    {
        chat.send_invoice(invoice);
    }
    // The draft is cleared in the same write as the answer queued above, kept ahead of
    // sending (`Chat::finish`): a replica killed before Telegram took it leaves it to be said
    // when the update comes again.
    if let Err(error) = chat.save(conversation.idle()).await {
        // Harmless beyond a stale draft: confirming it again republishes the same events.
        tracing::error!(%error, %order_id, "accepted order's draft not cleared");
    }
    Ok(())
}

/// The cart's prices are not what the card showed (or services were withdrawn): nothing is
/// placed; the customer is told and shown the order at the new prices, to confirm again.
async fn prices_changed(
    chat: &Chat,
    conversation: &Conversation,
    mut draft: Draft,
    repriced: &pricing::Repriced,
) -> HandlerResult {
    draft.step = DraftStep::Collecting;
    chat.save(conversation.drafting(draft.clone())).await?;
    if !repriced.removed.is_empty() {
        chat.reply(chat.format(
            key::CART_SERVICES_GONE,
            &[("names", &repriced.removed.join(", "))],
        ));
    }
    let total = match pricing::total(&draft) {
        Some(total) => pricing::money(total.amount_minor, &total.currency),
        None => chat.text(key::CART_TOTAL_ON_QUOTE),
    };
    chat.reply(chat.format(key::CART_PRICES_CHANGED, &[("total", &total)]));
    // A new card, below the notice, so the customer reads the new prices before confirming.
    let mut fresh = draft.clone();
    fresh.card = None;
    card::show(chat, &fresh).await?;
    Ok(())
}

/// The draft's held time ran out before Confirm: nothing is placed; the customer is told
/// which time was released (with the menu again after registration's keyboards) and shown
/// the calendar to choose again, then confirms on the card as before.
async fn hold_expired(
    chat: &Chat,
    conversation: &Conversation,
    draft: &Draft,
    from: &User,
    (told, service_id): (String, u32),
    announce: Announce,
) -> HandlerResult {
    let mut draft = draft.clone();
    draft.step = DraftStep::Collecting;
    chat.save(conversation.drafting(draft.clone())).await?;
    match announce {
        Announce::OnTheCard => chat.reply(told),
        Announce::WithTheMenu => chat.reply_with(told, main_menu(chat.words())),
    }
    booking::offer_calendar(chat, telegram_user_id(from), &draft, service_id).await
}

/// Where the files too large for Telegram go: a personal link, or the website.
async fn upload_text(chat: &Chat, draft: &Draft) -> String {
    let names = draft
        .large_files
        .iter()
        .map(|file| format!("«{}»", file.name))
        .collect::<Vec<_>>()
        .join(", ");
    let number = &draft.order_number;
    let link = chat
        .desk
        .upload_link(draft.order_id)
        .await
        .unwrap_or_else(|error| {
            // The order is accepted; the website is the way in without a link.
            tracing::error!(%error, order_id = %draft.order_id, "upload link not stored");
            None
        });
    match link {
        Some(link) => {
            let hours = chat.desk.upload_link_hours().to_string();
            chat.format(
                key::ORDER_UPLOAD_LINK,
                &[
                    ("names", &names),
                    ("number", number),
                    ("link", &link),
                    ("hours", &hours),
                ],
            )
        }
        None => chat.format(
            key::ORDER_UPLOAD_ELSEWHERE,
            &[("names", &names), ("number", number)],
        ),
    }
}

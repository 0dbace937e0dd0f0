//! A Telegram customer placing an order through the bot, for tests whose subject is what
//! happens after (storage, persistence, notifications, faults): text and documents, each
//! shown on the order's card, Confirm and, the first time, registration (name, shared
//! phone). Buttons are found by their callback data (`confirm:`), never by label, so the
//! language does not matter.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use telegram_double::{SentMessage, SimUser, TelegramDouble};

use crate::order_number_in;

/// The phone a registering test customer shares.
pub const TEST_PHONE: &str = "+380501234567";

/// The callback data of the first inline button under `message` that starts with `prefix`.
pub fn button_with_prefix(message: &SentMessage, prefix: &str) -> Option<String> {
    message
        .inline_buttons()
        .into_iter()
        .map(|(_, data)| data)
        .find(|data| data.starts_with(prefix))
}

/// Waits for the bot's first message (or edit) in `user`'s chat since `since` that `pred`
/// accepts.
pub async fn reply_since(
    double: &TelegramDouble,
    user: &SimUser,
    since: Instant,
    wait: Duration,
    pred: impl Fn(&SentMessage) -> bool,
) -> anyhow::Result<SentMessage> {
    double
        .wait_for_message(user.chat_id(), wait, |m| m.at >= since && pred(m))
        .await
}

/// Describes the order in `text`, attaches `documents` (name, MIME type, bytes, caption),
/// presses Confirm on the order's card, registers if the bot asks, and returns the order
/// number.
pub async fn place_order(
    double: &TelegramDouble,
    user: &SimUser,
    text: &str,
    documents: &[(&str, &str, Vec<u8>, Option<&str>)],
    wait: Duration,
) -> anyhow::Result<String> {
    // The card shows what was just sent, with Confirm under it.
    let card_with = |part: String| {
        move |m: &SentMessage| {
            m.body().contains(&part) && button_with_prefix(m, "confirm:").is_some()
        }
    };
    let since = Instant::now();
    user.send_text(text);
    let mut card = reply_since(double, user, since, wait, card_with(text.to_owned()))
        .await
        .context("the order's card")?;
    for (name, mime, bytes, caption) in documents {
        let since = Instant::now();
        user.send_document(name, mime, bytes.clone(), *caption);
        card = reply_since(double, user, since, wait, card_with(format!("• {name}")))
            .await
            .with_context(|| format!("{name} on the card"))?;
    }
    confirm(double, user, &card, wait).await
}

/// Presses Confirm under `summary` (the order's card), registers if asked, and returns the
/// order number (told on the card, or after registration in a new message).
pub async fn confirm(
    double: &TelegramDouble,
    user: &SimUser,
    summary: &SentMessage,
    wait: Duration,
) -> anyhow::Result<String> {
    // Orders this chat heard of before Confirm: a push about one of them (its status, its
    // payment) may arrive while this one is confirmed, and is not this order's answer. The
    // answer is the card edited in place (a returning customer), or a message with the
    // menu's keyboard (after registration); a push is neither. A number told before Confirm
    // may be this order's (a booked time's message names it), so it counts only there.
    let earlier: HashSet<String> = double
        .messages_to(user.chat_id())
        .iter()
        .filter_map(|m| order_number_in(m.body()))
        .collect();
    let card = summary.message_id;
    let new_number = move |m: &SentMessage| {
        order_number_in(m.body()).filter(|number| {
            m.message_id == card || !m.reply_keyboard().is_empty() || !earlier.contains(number)
        })
    };
    let since = Instant::now();
    let data = button_with_prefix(summary, "confirm:")
        .ok_or_else(|| anyhow!("no Confirm under the summary"))?;
    user.press_button(summary.message_id, &data);
    let answer = reply_since(double, user, since, wait, |m| {
        new_number(m).is_some() || asks_name(m)
    })
    .await
    .context("the order number or the registration")?;
    if let Some(number) = new_number(&answer) {
        return Ok(number);
    }
    let since = register(double, user, wait).await?;
    let accepted = reply_since(double, user, since, wait, |m| new_number(m).is_some())
        .await
        .context("the order number")?;
    new_number(&accepted).ok_or_else(|| anyhow!("matched above"))
}

/// Whether `message` is the bot asking a new customer's name (after Confirm): a reply
/// keyboard of one row (the name suggested) and no order number.
pub fn asks_name(message: &SentMessage) -> bool {
    message.reply_keyboard().len() == 1 && order_number_in(message.body()).is_none()
}

/// Answers registration once the bot has asked the name: "Test Customer", then the shared
/// [`TEST_PHONE`]. Returns the moment just before the phone was shared: what the bot says
/// after registration (the order number, or why not) comes after it.
pub async fn register(
    double: &TelegramDouble,
    user: &SimUser,
    wait: Duration,
) -> anyhow::Result<Instant> {
    let since = Instant::now();
    user.send_text("Test Customer");
    let asks_phone = |m: &SentMessage| {
        m.reply_markup
            .as_ref()
            .is_some_and(|markup| markup["keyboard"][0][0]["request_contact"] == true)
    };
    reply_since(double, user, since, wait, asks_phone)
        .await
        .context("the phone request")?;
    let since = Instant::now();
    user.send_contact(TEST_PHONE);
    Ok(since)
}

//! "My orders": the customer's orders newest first, paged; one order's page (service, booked
//! time with Reschedule / Cancel, text, files, history) with what its status allows (see [`cancellation`](super::cancellation)
//! and [`staff`](super::staff)). The schema hands these handlers an order only once it is
//! found among the presser's own, so a forged button for someone else's order gets the
//! same "outdated" answer as one for no order at all.

use chrono::Utc;
use teloxide::prelude::*;
use teloxide::types::InlineKeyboardMarkup;

use super::context::{Chat, Press, telegram_user_id};
use super::deferred::HandlerResult;
use super::{booking, payments};
use crate::keyboards;
use crate::menu::main_menu;
use crate::order_lookup::{OrderDetails, OrderPage};
use crate::texts::{Words, key};
use bureau_kit::text::clip;

/// The longest part of an order's text its page quotes (a message holds 4,096 characters).
const PAGE_DESCRIPTION_CHARS: usize = 1_200;

/// "My orders" or `/orders`: the first page, as a new message.
pub async fn list(chat: Chat, message: Message) -> HandlerResult {
    let Some(user) = message.from.as_ref() else {
        return Ok(());
    };
    let page = match chat.desk.orders.page(telegram_user_id(user), 0).await {
        Ok(page) => page,
        Err(error) => {
            tracing::error!(%error, "order list lookup failed");
            chat.reply(chat.text(key::UNAVAILABLE));
            return Ok(());
        }
    };
    if page.total == 0 {
        chat.reply_with(chat.text(key::ORDERS_NONE), main_menu(chat.words()));
        return Ok(());
    }
    chat.reply_with(
        page_text(chat.words(), &page),
        keyboards::order_list(chat.words(), &page),
    );
    Ok(())
}

/// A paging button (or "back to the list"): that page, in place.
pub async fn show_page(press: Press, offset: u32) -> HandlerResult {
    let page = press.desk.orders.page(press.user_id(), offset).await?;
    if page.lines.is_empty() {
        return press.outdated();
    }
    press.show(
        page_text(press.words(), &page),
        keyboards::order_list(press.words(), &page),
    );
    Ok(())
}

fn page_text(words: Words, page: &OrderPage) -> String {
    let from = (page.offset + 1).to_string();
    let to = (page.offset + page.lines.len() as u32).to_string();
    let total = page.total.to_string();
    words.format(
        key::ORDERS_PAGE,
        &[("from", &from), ("to", &to), ("total", &total)],
    )
}

/// An order's button in the list: its page, in place.
pub async fn show_order(press: Press, order: OrderDetails) -> HandlerResult {
    let (text, keyboard) = order_view(&press, &order).await?;
    press.show(text, keyboard);
    Ok(())
}

/// The notifier's "Open order" under a notification: the page as a new message, so the
/// notification stays readable.
pub async fn open_order(press: Press, order: OrderDetails) -> HandlerResult {
    let (text, keyboard) = order_view(&press, &order).await?;
    press.reply_with(text, keyboard);
    Ok(())
}

/// The order's page and its buttons: the booked time under its status, and, while the
/// time is ahead and the customer booked it here, Reschedule and Cancel for it.
async fn order_view(
    press: &Press,
    order: &OrderDetails,
) -> Result<(String, InlineKeyboardMarkup), sqlx::Error> {
    let booked = booking::booked_line(press, order.id, key::BOOKING_ORDER_LINE).await?;
    let text = order_text(press, order, booked.as_ref().map(|(_, line)| line.as_str())).await?;
    let payable = payments::can_pay(press, order).await;
    let mut keyboard = keyboards::order_actions(press.words(), order, payable);
    if let Some((time, _)) = booked.filter(|_| !order.status.is_terminal())
        && let Some(row) = booking::manage_row(press, press.user_id(), &time).await?
    {
        keyboard.inline_keyboard.insert(0, row);
    }
    Ok((text, keyboard))
}

async fn order_text(
    chat: &Chat,
    order: &OrderDetails,
    booked: Option<&str>,
) -> Result<String, sqlx::Error> {
    let words = chat.words();
    let service = match &order.service_code {
        Some(code) => chat
            .desk
            .catalogue
            .name_of(code, chat.language)
            .await?
            .unwrap_or_else(|| code.clone()),
        None => words.get(key::SERVICE_OTHER),
    };
    let description = match order.body.trim() {
        "" => words.get(key::DRAFT_NO_TEXT),
        body => clip(body, PAGE_DESCRIPTION_CHARS),
    };
    let files = if order.files.is_empty() {
        words.get(key::ORDER_NO_FILES)
    } else {
        order
            .files
            .iter()
            .map(|file| words.file_line(&file.name, file.size))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let history = order
        .history
        .iter()
        .map(|(at, status)| {
            let (at, status) = (moment(*at), words.status(*status));
            words.format(key::ORDER_HISTORY_LINE, &[("at", &at), ("status", &status)])
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (created, mut status) = (moment(order.created_at), words.status(order.status));
    if let Some(line) = booked {
        status = format!("{status}\n{line}");
    }
    Ok(words.format(
        key::ORDER_PAGE,
        &[
            ("number", &order.number),
            ("created", &created),
            ("service", &service),
            ("status", &status),
            ("description", &description),
            ("files", &files),
            ("history", &history),
        ],
    ))
}

/// A moment as customers read it: Kyiv is where the business is, but UTC says so plainly.
fn moment(at: chrono::DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

//! "My orders": the customer's orders newest first, paged; one order's page (service, text,
//! files, history) with what its status allows (see [`cancellation`](super::cancellation)
//! and [`staff`](super::staff)). The schema hands these handlers an order only once it is
//! found among the presser's own, so a forged button for someone else's order gets the
//! same "outdated" answer as one for no order at all.

use chrono::Utc;
use teloxide::prelude::*;

use super::context::{Chat, Press, telegram_user_id};
use super::deferred::HandlerResult;
use super::payments;
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
    let text = order_text(&press, &order).await?;
    let payable = payments::can_pay(&press, &order).await;
    press.show(
        text,
        keyboards::order_actions(press.words(), &order, payable),
    );
    Ok(())
}

/// The notifier's "Open order" under a notification: the page as a new message, so the
/// notification stays readable.
pub async fn open_order(press: Press, order: OrderDetails) -> HandlerResult {
    let text = order_text(&press, &order).await?;
    let payable = payments::can_pay(&press, &order).await;
    press.reply_with(
        text,
        keyboards::order_actions(press.words(), &order, payable),
    );
    Ok(())
}

async fn order_text(chat: &Chat, order: &OrderDetails) -> Result<String, sqlx::Error> {
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
    let (created, status) = (moment(order.created_at), words.status(order.status));
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

//! "My orders": the customer's orders newest first, paged; one order's page (service, text,
//! files, history) with what its status allows: cancel (while the customer may), write to
//! staff. Every order is looked up among the asking customer's own, so a forged button for
//! someone else's order gets the same "outdated" answer as one for no order at all.

use std::sync::Arc;

use chrono::Utc;
use teloxide::prelude::*;
use uuid::Uuid;

use super::buttons::answer_outdated;
use super::{Deferred, Desk, HandlerResult, show, telegram_user_id};
use crate::clip::clip;
use crate::dialogue::{ChatDialogue, Conversation, Language, Stage};
use crate::keyboards;
use crate::menu::main_menu;
use crate::order_lookup::{OrderDetails, OrderPage};
use crate::publish::{cancellation_event, customer_message_event};
use crate::telegram::GatewayBot;
use crate::texts::key;

/// The longest part of an order's text its page quotes (a message holds 4,096 characters).
const PAGE_DESCRIPTION_CHARS: usize = 1_200;

/// The longest message to staff we pass on, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// "My orders" or `/orders`: the first page, as a new message.
pub async fn list(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let Some(user) = message.from.as_ref() else {
        return Ok(());
    };
    let page = match desk.orders.page(telegram_user_id(user), 0).await {
        Ok(page) => page,
        Err(error) => {
            tracing::error!(%error, "order list lookup failed");
            bot.send_message(message.chat.id, desk.texts.get(language, key::UNAVAILABLE))
                .await?;
            return Ok(());
        }
    };
    if page.total == 0 {
        bot.send_message(message.chat.id, desk.texts.get(language, key::ORDERS_NONE))
            .reply_markup(main_menu(desk.texts.words(language)))
            .await?;
        return Ok(());
    }
    bot.send_message(message.chat.id, page_text(&desk, language, &page))
        .reply_markup(keyboards::order_list(desk.texts.words(language), &page))
        .await?;
    Ok(())
}

fn page_text(desk: &Desk, language: Language, page: &OrderPage) -> String {
    let from = (page.offset + 1).to_string();
    let to = (page.offset + page.lines.len() as u32).to_string();
    let total = page.total.to_string();
    desk.texts.format(
        language,
        key::ORDERS_PAGE,
        &[("from", &from), ("to", &to), ("total", &total)],
    )
}

/// A paging button (or "back to the list"): that page, in place.
pub async fn show_page(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    offset: u32,
) -> HandlerResult {
    let language = conversation.language;
    let page = desk
        .orders
        .page(telegram_user_id(&query.from), offset)
        .await?;
    if page.lines.is_empty() {
        return answer_outdated(bot, &desk.texts, language, query).await;
    }
    bot.answer_callback_query(query.id.clone()).await?;
    show(
        bot,
        chat_id,
        query,
        page_text(desk, language, &page),
        keyboards::order_list(desk.texts.words(language), &page),
    )
    .await
}

/// An order's button: its page, in place of the message the button was under, or as a new
/// message (`in_place: false`, under a notification).
pub async fn show_order(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    order_id: Uuid,
    in_place: bool,
) -> HandlerResult {
    let language = conversation.language;
    let Some(order) = desk
        .orders
        .details(telegram_user_id(&query.from), order_id)
        .await?
    else {
        return answer_outdated(bot, &desk.texts, language, query).await;
    };
    bot.answer_callback_query(query.id.clone()).await?;
    let text = order_text(desk, language, &order).await?;
    let keyboard = keyboards::order_actions(desk.texts.words(language), &order);
    if in_place {
        return show(bot, chat_id, query, text, keyboard).await;
    }
    bot.send_message(chat_id, text)
        .reply_markup(keyboard)
        .await?;
    Ok(())
}

async fn order_text(
    desk: &Desk,
    language: Language,
    order: &OrderDetails,
) -> Result<String, sqlx::Error> {
    let texts = &desk.texts;
    let service = match &order.service_code {
        Some(code) => desk
            .catalogue
            .name_of(code, language)
            .await?
            .unwrap_or_else(|| code.clone()),
        None => texts.get(language, key::SERVICE_OTHER),
    };
    let description = match order.body.trim() {
        "" => texts.get(language, key::DRAFT_NO_TEXT),
        body => clip(body, PAGE_DESCRIPTION_CHARS),
    };
    let files = if order.files.is_empty() {
        texts.get(language, key::ORDER_NO_FILES)
    } else {
        order
            .files
            .iter()
            .map(|file| texts.file_line(language, &file.name, file.size))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let history = order
        .history
        .iter()
        .map(|(at, status)| {
            let (at, status) = (moment(*at), texts.status(language, *status));
            texts.format(
                language,
                key::ORDER_HISTORY_LINE,
                &[("at", &at), ("status", &status)],
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let (created, status) = (
        moment(order.created_at),
        texts.status(language, order.status),
    );
    Ok(texts.format(
        language,
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

/// "Cancel the order": asks first, with the status version the customer is looking at.
pub async fn ask_cancel(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    order_id: Uuid,
) -> HandlerResult {
    let language = conversation.language;
    let order = desk
        .orders
        .details(telegram_user_id(&query.from), order_id)
        .await?;
    let Some(order) = order.filter(|order| order.status.customer_may_cancel()) else {
        return answer_outdated(bot, &desk.texts, language, query).await;
    };
    bot.answer_callback_query(query.id.clone()).await?;
    let text = desk.texts.format(
        language,
        key::ORDER_CANCEL_QUESTION,
        &[("number", &order.number)],
    );
    show(
        bot,
        chat_id,
        query,
        text,
        keyboards::cancel_question(desk.texts.words(language), &order),
    )
    .await
}

/// "Yes, cancel it": publishes `OrderStatusChanged` to Cancelled by the customer, if the
/// order is still theirs, still cancellable and still at the version they saw.
pub async fn cancel(
    bot: &GatewayBot,
    desk: &Desk,
    conversation: &Conversation,
    query: &CallbackQuery,
    chat_id: ChatId,
    order_id: Uuid,
    version: u32,
) -> HandlerResult {
    let language = conversation.language;
    let order = desk
        .orders
        .details(telegram_user_id(&query.from), order_id)
        .await?;
    let Some(order) =
        order.filter(|order| order.status.customer_may_cancel() && order.version == version)
    else {
        return answer_outdated(bot, &desk.texts, language, query).await;
    };
    let event = cancellation_event(
        order.id,
        &order.number,
        order.status,
        order.version,
        Utc::now(),
    );
    let published = desk.publish(std::slice::from_ref(&event)).await;
    if published.is_err() {
        tracing::warn!(%order_id, "customer's cancellation not published yet; the update is deferred");
        if let Err(error) = bot.answer_callback_query(query.id.clone()).await {
            tracing::debug!(%error, "callback query not answered");
        }
        let notice = desk.texts.get(language, key::ORDER_CANCEL_DEFERRED);
        return Err(Deferred::boxed(
            format!("cancellation of {order_id} not published"),
            Some((chat_id, notice)),
        ));
    }
    tracing::info!(%order_id, order_number = %order.number, "order cancelled by the customer");
    // A press delivered again after a deferral may be too old to answer: harmless.
    if let Err(error) = bot.answer_callback_query(query.id.clone()).await {
        tracing::debug!(%error, "callback query not answered");
    }
    let text = desk
        .texts
        .format(language, key::ORDER_CANCELLED, &[("number", &order.number)]);
    show(
        bot,
        chat_id,
        query,
        text,
        keyboards::order_list_back(desk.texts.words(language)),
    )
    .await
}

/// "Write to us": the next text goes to staff about this order.
pub async fn start_message(
    bot: &GatewayBot,
    desk: &Desk,
    dialogue: &ChatDialogue,
    conversation: &Conversation,
    query: &CallbackQuery,
    order_id: Uuid,
) -> HandlerResult {
    let language = conversation.language;
    let Some(order) = desk
        .orders
        .details(telegram_user_id(&query.from), order_id)
        .await?
    else {
        return answer_outdated(bot, &desk.texts, language, query).await;
    };
    if conversation.draft().is_some() {
        // Writing would drop the draft: finish or cancel it first.
        bot.answer_callback_query(query.id.clone())
            .text(desk.texts.get(language, key::DRAFT_IN_PROGRESS))
            .await?;
        return Ok(());
    }
    dialogue
        .update(conversation.with_stage(Stage::WritingToStaff {
            order_id: order.id,
            order_number: order.number.clone(),
        }))
        .await?;
    bot.answer_callback_query(query.id.clone()).await?;
    bot.send_message(
        dialogue.chat_id(),
        desk.texts
            .format(language, key::WRITE_PROMPT, &[("number", &order.number)]),
    )
    .await?;
    Ok(())
}

/// The customer's message to staff: published as `OrderMessagePosted` for the order's
/// conversation (staff answers come back through the notifier).
pub async fn receive_message(
    bot: GatewayBot,
    desk: Arc<Desk>,
    dialogue: ChatDialogue,
    conversation: Conversation,
    message: Message,
) -> HandlerResult {
    let language = conversation.language;
    let Stage::WritingToStaff {
        order_id,
        order_number,
    } = &conversation.stage
    else {
        return Ok(());
    };
    let text = message.text().map(str::trim).unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        bot.send_message(
            message.chat.id,
            desk.texts.get(language, key::WRITE_TEXT_ONLY),
        )
        .await?;
        return Ok(());
    }
    let event = customer_message_event(*order_id, message.chat.id.0, message.id.0, text);
    let published = desk.publish(std::slice::from_ref(&event)).await;
    if published.is_err() {
        tracing::warn!(%order_id, "customer's message not published yet; the update is deferred");
        let notice = desk.texts.get(language, key::WRITE_DEFERRED);
        return Err(Deferred::boxed(
            format!("message about {order_id} not published"),
            Some((message.chat.id, notice)),
        ));
    }
    dialogue.update(conversation.idle()).await?;
    bot.send_message(
        message.chat.id,
        desk.texts
            .format(language, key::WRITE_SENT, &[("number", order_number)]),
    )
    .reply_markup(main_menu(desk.texts.words(language)))
    .await?;
    Ok(())
}

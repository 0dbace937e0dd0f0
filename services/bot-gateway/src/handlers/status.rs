//! `/status N`: the status of one of the customer's own orders.

use std::sync::Arc;

use proto_events::order_number;
use teloxide::prelude::*;

use super::{HandlerResult, telegram_user_id};
use crate::desk::Desk;
use crate::dialogue::Conversation;
use crate::telegram::GatewayBot;
use crate::texts::key;

pub async fn reply(
    bot: GatewayBot,
    desk: Arc<Desk>,
    conversation: Conversation,
    message: Message,
    argument: String,
) -> HandlerResult {
    let Some(user) = message.from.as_ref() else {
        return Ok(());
    };
    let (texts, orders, language) = (&desk.texts, &desk.orders, conversation.language);
    let answer = match order_number::parse(&argument) {
        None => texts.get(language, key::STATUS_USAGE),
        // Someone else's order and no order at all get the very same answer.
        Some(number) => match orders.status(telegram_user_id(user), &number).await {
            Ok(Some(status)) => {
                let status = texts.status(language, status);
                texts.format(
                    language,
                    key::STATUS_FOUND,
                    &[("number", &number), ("status", &status)],
                )
            }
            Ok(None) => texts.format(language, key::STATUS_NOT_FOUND, &[("number", &number)]),
            Err(error) => {
                tracing::error!(%error, "order status lookup failed");
                texts.get(language, key::UNAVAILABLE)
            }
        },
    };
    bot.send_message(message.chat.id, answer).await?;
    Ok(())
}

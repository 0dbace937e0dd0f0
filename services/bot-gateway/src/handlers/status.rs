//! `/status N`: the status of one of the customer's own orders, and its booked time.

use bureau_scheduling::booked;
use proto_events::order_number;
use teloxide::prelude::*;

use super::context::{Chat, telegram_user_id};
use super::deferred::HandlerResult;
use crate::texts::key;

pub async fn reply(chat: Chat, message: Message, argument: String) -> HandlerResult {
    let Some(user) = message.from.as_ref() else {
        return Ok(());
    };
    let answer = match order_number::parse(&argument) {
        None => chat.text(key::STATUS_USAGE),
        // Someone else's order and no order at all get the very same answer.
        Some(number) => match chat
            .desk
            .orders
            .status(telegram_user_id(user), &number)
            .await
        {
            Ok(Some((order_id, status))) => {
                let open = !status.is_terminal();
                let status = chat.words().status(status);
                // The booked time, while the order is open.
                let booked = if open {
                    booked::of_order(chat.desk.pool(), order_id)
                        .await
                        .unwrap_or_else(|error| {
                            tracing::warn!(%error, "booked time not readable for /status");
                            None
                        })
                } else {
                    None
                };
                match booked {
                    Some(time) => {
                        let zone = chat.desk.business().await.zone();
                        let tag = chat.language.tag();
                        chat.format(
                            key::STATUS_FOUND_BOOKED,
                            &[
                                ("number", &number),
                                ("status", &status),
                                ("service", &time.service(tag)),
                                ("when", &time.when(&zone, tag)),
                            ],
                        )
                    }
                    None => chat.format(
                        key::STATUS_FOUND,
                        &[("number", &number), ("status", &status)],
                    ),
                }
            }
            Ok(None) => chat.format(key::STATUS_NOT_FOUND, &[("number", &number)]),
            Err(error) => {
                tracing::error!(%error, "order status lookup failed");
                chat.text(key::UNAVAILABLE)
            }
        },
    };
    chat.reply(answer);
    Ok(())
}

//! Writing to staff about an order: "Write to us" on the order's page, then the next text is
//! published as the customer's message for the order's conversation (staff answers come
//! back through the notifier).

use teloxide::prelude::*;
use uuid::Uuid;

use super::context::{Chat, Press};
use super::deferred::HandlerResult;
use crate::dialogue::{Conversation, Stage};
use crate::menu::main_menu;
use crate::order_lookup::OrderDetails;
use crate::publish::customer_message_event;
use crate::texts::key;

/// The longest message to staff we pass on, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// "Write to us": the next text goes to staff about this order.
pub async fn start_message(
    press: Press,
    conversation: Conversation,
    order: OrderDetails,
) -> HandlerResult {
    if conversation.draft().is_some() {
        // Writing would drop the draft: finish or cancel it first.
        press.answer(key::DRAFT_IN_PROGRESS);
        return Ok(());
    }
    press
        .save(conversation.with_stage(Stage::WritingToStaff {
            order_id: order.id,
            order_number: order.number.clone(),
        }))
        .await?;
    press.reply(press.format(key::WRITE_PROMPT, &[("number", &order.number)]));
    Ok(())
}

/// The customer's message, while writing to staff about `order_id`: published as
/// `OrderMessagePosted`; deferred when the broker does not take it.
pub async fn receive_message(
    chat: Chat,
    conversation: Conversation,
    message: Message,
    (order_id, order_number): (Uuid, String),
) -> HandlerResult {
    let text = message.text().map(str::trim).unwrap_or_default();
    if text.is_empty() || text.chars().count() > MAX_MESSAGE_CHARS {
        chat.reply(chat.text(key::WRITE_TEXT_ONLY));
        return Ok(());
    }
    let event = customer_message_event(order_id, chat.id.0, message.id.0, text);
    let what = format!("message about {order_id}");
    chat.publish_or_defer(&what, &[event], key::WRITE_DEFERRED)
        .await?;
    chat.save(conversation.idle()).await?;
    chat.reply_with(
        chat.format(key::WRITE_SENT, &[("number", &order_number)]),
        main_menu(chat.words()),
    );
    Ok(())
}

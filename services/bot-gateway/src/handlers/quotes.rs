//! A customer answering a price quote with the Accept / Decline buttons the notifier drew
//! under it: published as the customer's status-change request (quoted → accepted, or →
//! cancelled, "quote declined"), only for the presser's own order, its latest quote, while
//! the order is still quoted. The persistence worker decides it; the customer hears the
//! recorded status (or the refusal) from the notifier, never "accepted" from here.

use chrono::Utc;
use proto_events::QuoteAnswer;
use uuid::Uuid;

use super::context::Press;
use super::deferred::HandlerResult;
use super::payments;
use crate::publish::quote_answer_event;
use crate::texts::key;

pub async fn answer(press: Press, (quote, answer): (Uuid, QuoteAnswer)) -> HandlerResult {
    let order = match press.desk.orders.quoted_order(press.user_id(), quote).await {
        Ok(Some(order)) => order,
        // Not theirs, not the order's latest quote, or no longer quoted.
        Ok(None) => return press.outdated(),
        Err(error) => {
            tracing::error!(%error, %quote, "quote lookup failed");
            press.answer(key::UNAVAILABLE);
            return Ok(());
        }
    };
    let event = quote_answer_event(
        order.id,
        &order.number,
        order.version,
        quote,
        answer,
        Utc::now(),
    );
    let what = format!("{} of quote {quote}", answer.as_str());
    press
        .publish_or_defer(&what, &[event], key::QUOTE_ANSWER_DEFERRED)
        .await?;
    tracing::info!(order_id = %order.id, %quote, answer = answer.as_str(), "quote answer requested");
    let sent = match answer {
        QuoteAnswer::Accept => key::QUOTE_ACCEPT_SENT,
        QuoteAnswer::Decline => key::QUOTE_DECLINE_SENT,
    };
    press.reply(press.format(sent, &[("number", &order.number)]));
    if answer == QuoteAnswer::Accept && press.bot.payment_token().is_some() {
        // The accepted price, to pay now: checked again when Telegram asks whether to take it
        // (by then the acceptance is recorded, or the payment is refused with the reason).
        if let Some(amount) = payments::quote_amount(&press.desk, quote).await?
            && let Some(invoice) =
                payments::invoice(press.words(), order.id, &order.number, &amount)
        {
            press.send_invoice(invoice);
        }
    }
    Ok(())
}

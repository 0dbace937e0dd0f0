//! Telegram Payments: invoices, the `pre_checkout_query` and the `successful_payment`.
//!
//! An order with a price gets an invoice: right after it is placed when its cart has a
//! total, on "Accept" of a price quote, or from "💳 Pay" on its page. The invoice's amount
//! and currency are what the server says the order is due (`bureau_platform::payments`),
//! its payload names the order. Telegram then asks us, with a `pre_checkout_query`, whether
//! to take the money, and waits 10 s: it is answered at once from one MySQL reading —
//! approved only if the order is the payer's, can still be paid, and the amount and
//! currency are exactly what is due; otherwise refused with a sentence in the customer's
//! language. The `successful_payment` that follows becomes a `PaymentReceived` event whose
//! ids derive from Telegram's charge id, so however often it is delivered the payment is
//! recorded once (the persistence worker also keeps the charge id UNIQUE).

use std::sync::Arc;

use bureau_platform::payments::{self, Due, NotPayable};
use chrono::Utc;
use proto_events::{Money, callbacks};
use teloxide::prelude::*;
use teloxide::types::PreCheckoutQuery;
use uuid::Uuid;

use super::context::{Chat, Press, telegram_user_id};
use super::deferred::HandlerResult;
use crate::desk::Desk;
use crate::dialogue::Language;
use crate::order_lookup::OrderDetails;
use crate::pricing;
use crate::publish::payment_event;
use crate::replies::Invoice;
use crate::telegram::GatewayBot;
use crate::texts::{Words, key};

/// The invoice for `amount` of order `number`.
pub fn invoice(words: Words, order_id: Uuid, number: &str, amount: &Money) -> Option<Invoice> {
    let amount_minor = u32::try_from(amount.amount_minor).ok()?;
    let shown = pricing::money(amount.amount_minor, &amount.currency);
    Some(Invoice {
        title: words.format(key::PAY_TITLE, &[("number", number)]),
        description: words.format(
            key::PAY_DESCRIPTION,
            &[("number", number), ("amount", &shown)],
        ),
        payload: callbacks::invoice_payload(order_id),
        currency: amount.currency.clone(),
        label: words.format(key::PAY_LABEL, &[("number", number)]),
        amount_minor,
    })
}

/// The amount of the price quote `quote` (its `PriceQuoted` event id).
pub async fn quote_amount(desk: &Desk, quote: Uuid) -> Result<Option<Money>, sqlx::Error> {
    let row: Option<(u64, String)> =
        sqlx::query_as("SELECT amount_minor, currency FROM order_quotes WHERE event_id = ?")
            .bind(quote)
            .fetch_optional(desk.pool())
            .await?;
    Ok(row.map(|(amount_minor, currency)| Money {
        amount_minor,
        currency,
    }))
}

/// The sentence for an order that cannot be paid now.
fn refusal(words: Words, why: NotPayable, number: &str) -> String {
    let key = match why {
        NotPayable::Closed => key::PAY_CLOSED,
        NotPayable::AwaitingQuoteAnswer => key::PAY_AWAITING_QUOTE_ANSWER,
        NotPayable::NoPrice => key::PAY_NO_PRICE,
        NotPayable::AlreadyPaid => key::PAY_ALREADY_PAID,
    };
    words.format(key, &[("number", number)])
}

/// Whether the order's page offers "💳 Pay": invoices are on and something is left to pay.
pub async fn can_pay(press: &Press, order: &OrderDetails) -> bool {
    if press.bot.payment_token().is_none() {
        return false;
    }
    let Ok(mut conn) = press.desk.pool().acquire().await else {
        return false;
    };
    matches!(
        payments::due(&mut conn, order.id, false).await,
        Ok(Some(due)) if due.payable().is_ok()
    )
}

/// "💳 Pay" on the order's page (or under the notifier's message): the invoice for what is
/// left to pay, or why there is nothing to pay.
pub async fn pay(press: Press, order: OrderDetails) -> HandlerResult {
    if press.bot.payment_token().is_none() {
        press.answer(key::PAY_OFF);
        return Ok(());
    }
    let mut conn = press.desk.pool().acquire().await?;
    let Some(due) = payments::due(&mut conn, order.id, false).await? else {
        return press.outdated();
    };
    match due.payable() {
        Ok(amount) => match invoice(press.words(), order.id, &order.number, &amount) {
            Some(invoice) => press.send_invoice(invoice),
            None => press.answer(key::PAY_OFF),
        },
        Err(why) => press.answer_text(refusal(press.words(), why, &order.number)),
    }
    Ok(())
}

/// Telegram asks whether to take the money: answered at once, yes only for exactly what the
/// payer's own order is due now.
pub async fn pre_checkout(
    bot: GatewayBot,
    desk: Arc<Desk>,
    query: PreCheckoutQuery,
) -> HandlerResult {
    let telegram_language = Language::from_telegram(query.from.language_code.as_deref());
    let verdict = match check(&desk, &query).await {
        Ok(verdict) => verdict,
        Err(error) => {
            tracing::error!(%error, "a pre-checkout query could not be checked; refused");
            Err(desk.texts.get(telegram_language, key::PAY_UNAVAILABLE))
        }
    };
    let answer = match &verdict {
        Ok(()) => bot.answer_pre_checkout_query(query.id.clone(), true).await,
        Err(reason) => {
            bot.answer_pre_checkout_query(query.id.clone(), false)
                .error_message(reason.clone())
                .await
        }
    };
    match (&verdict, answer) {
        (_, Err(error)) => {
            // Too late or already answered: Telegram charges nothing without our yes.
            tracing::warn!(%error, payload = %query.invoice_payload, "pre-checkout answer not taken");
        }
        (Ok(()), Ok(_)) => {
            tracing::info!(payload = %query.invoice_payload, amount = query.total_amount, "pre-checkout approved")
        }
        (Err(reason), Ok(_)) => {
            tracing::info!(payload = %query.invoice_payload, %reason, "pre-checkout refused")
        }
    }
    Ok(())
}

/// `Ok` to approve, or the refusal in the customer's language.
async fn check(desk: &Desk, query: &PreCheckoutQuery) -> Result<Result<(), String>, sqlx::Error> {
    let payer = telegram_user_id(&query.from);
    let fallback = desk
        .texts
        .words(Language::from_telegram(query.from.language_code.as_deref()));
    let Some(order_id) = callbacks::parse_invoice_payload(&query.invoice_payload) else {
        return Ok(Err(fallback.get(key::PAY_NOT_FOUND)));
    };
    let mut conn = desk.pool().acquire().await?;
    let due: Option<Due> = payments::due(&mut conn, order_id, false).await?;
    // Someone else's order reads exactly like no order at all.
    let Some(due) = due.filter(|due| due.telegram_user_id == Some(payer)) else {
        return Ok(Err(fallback.get(key::PAY_NOT_FOUND)));
    };
    let words = desk
        .texts
        .words(Language::from_tag(&due.language).unwrap_or(fallback.language));
    let amount = match due.payable() {
        Ok(amount) => amount,
        Err(why) => return Ok(Err(refusal(words, why, &due.order_number))),
    };
    if u64::from(query.total_amount) != amount.amount_minor || query.currency != amount.currency {
        let shown = pricing::money(amount.amount_minor, &amount.currency);
        return Ok(Err(words.format(
            key::PAY_AMOUNT_CHANGED,
            &[("number", &due.order_number), ("amount", &shown)],
        )));
    }
    Ok(Ok(()))
}

/// The money is taken: a `PaymentReceived` event (once per Telegram charge), then thanks.
pub async fn received(chat: Chat, message: Message) -> HandlerResult {
    let Some(payment) = message.successful_payment() else {
        return Ok(());
    };
    let charge = &payment.telegram_payment_charge_id.0;
    let Some(order_id) = callbacks::parse_invoice_payload(&payment.invoice_payload) else {
        tracing::error!(%charge, payload = %payment.invoice_payload, "a payment names no order we know; staff must settle it");
        chat.reply(chat.text(key::PAY_UNKNOWN_ORDER));
        return Ok(());
    };
    let mut conn = chat.desk.pool().acquire().await?;
    let Some(due) = payments::due(&mut conn, order_id, false).await? else {
        tracing::error!(%charge, %order_id, "a payment for an order not recorded; staff must settle it");
        chat.reply(chat.text(key::PAY_UNKNOWN_ORDER));
        return Ok(());
    };
    drop(conn);
    let event = payment_event(&due.order_number, order_id, payment, Utc::now());
    chat.publish_or_defer(&format!("payment {charge}"), &[event], key::PAY_DEFERRED)
        .await?;
    tracing::info!(%order_id, %charge, amount = payment.total_amount, "payment received");
    let amount = pricing::money(u64::from(payment.total_amount), &payment.currency);
    chat.reply(chat.format(
        key::PAY_RECEIVED,
        &[("amount", &amount), ("number", &due.order_number)],
    ));
    Ok(())
}

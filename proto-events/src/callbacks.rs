//! Telegram callback data that one service writes and another reads: the notifier draws
//! buttons under its pushes ("Open order", a quote's Accept / Decline), the bot gateway
//! answers their presses. Defined here once, so the two can never disagree on the format.
//!
//! Like every callback data in Bureau it carries short ids only, never text, and stays far
//! inside Telegram's 64 bytes. It is never trusted: the handler looks everything up again
//! for the asking customer and acts only on what it finds.

use uuid::Uuid;

use crate::status::QuoteAnswer;

/// Telegram refuses callback data longer than this many bytes.
pub const CALLBACK_DATA_LIMIT: usize = 64;

/// The verb of the "Open order" button: `order:{order id, 32 hex digits}`. The bot gateway
/// answers a press by showing that order's page (if the customer owns it).
pub const OPEN_ORDER: &str = "order";

/// The "Open order" button's data: 38 bytes.
pub fn open_order(order_id: Uuid) -> String {
    format!("{OPEN_ORDER}:{}", order_id.simple())
}

/// The verb of the "Pay" button: `pay:{order id, 32 hex digits}`. The bot gateway answers a
/// press with the order's invoice, if the customer owns the order and it can be paid.
pub const PAY_ORDER: &str = "pay";

/// The "Pay" button's data: 36 bytes.
pub fn pay_order(order_id: Uuid) -> String {
    format!("{PAY_ORDER}:{}", order_id.simple())
}

/// A Telegram invoice's payload (1-128 bytes, never shown to the customer): it names the
/// order, `order:{order id, 32 hex digits}`. The `pre_checkout_query` and the
/// `successful_payment` carry it back; the order is looked up again, never trusted.
pub fn invoice_payload(order_id: Uuid) -> String {
    format!("order:{}", order_id.simple())
}

/// The order an invoice payload names; `None` for anything else.
pub fn parse_invoice_payload(payload: &str) -> Option<Uuid> {
    let id = payload.strip_prefix("order:")?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::parse_str(id).ok()
}

/// `qa:{quote}` accepts, `qd:{quote}` declines the price quote whose `PriceQuoted` event id
/// is `quote` (32 hex digits): 35 bytes.
pub fn quote_answer(answer: QuoteAnswer, quote: Uuid) -> String {
    let verb = match answer {
        QuoteAnswer::Accept => "qa",
        QuoteAnswer::Decline => "qd",
    };
    format!("{verb}:{}", quote.simple())
}

/// The answer and the quote of `qa:`/`qd:` data; `None` for anything else (the caller
/// treats it as an outdated button).
pub fn parse_quote_answer(data: &str) -> Option<(QuoteAnswer, Uuid)> {
    let (verb, id) = data.split_once(':')?;
    let answer = match verb {
        "qa" => QuoteAnswer::Accept,
        "qd" => QuoteAnswer::Decline,
        _ => return None,
    };
    // Exactly the simple form we write: no dashes, braces or a second colon.
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((answer, Uuid::parse_str(id).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_answers_round_trip_within_telegrams_limit() {
        let quote = Uuid::now_v7();
        for answer in [QuoteAnswer::Accept, QuoteAnswer::Decline] {
            let data = quote_answer(answer, quote);
            assert!(data.len() <= CALLBACK_DATA_LIMIT, "{data}");
            assert_eq!(parse_quote_answer(&data), Some((answer, quote)));
        }
        assert_eq!(
            quote_answer(QuoteAnswer::Accept, quote),
            format!("qa:{}", quote.simple())
        );
    }

    #[test]
    fn invoice_payloads_name_the_order_and_nothing_else_parses() {
        let order = Uuid::now_v7();
        let payload = invoice_payload(order);
        assert!(payload.len() <= 128);
        assert_eq!(parse_invoice_payload(&payload), Some(order));
        for other in [
            String::new(),
            format!("order:{order}"),
            format!("pay:{}", order.simple()),
            format!("order:{}x", order.simple()),
        ] {
            assert_eq!(parse_invoice_payload(&other), None, "{other}");
        }
        assert!(pay_order(order).len() <= CALLBACK_DATA_LIMIT);
    }

    #[test]
    fn anything_else_is_not_a_quote_answer() {
        let id = Uuid::now_v7();
        for data in [
            String::new(),
            "qa".into(),
            "qa:".into(),
            format!("qa:{id}"),
            format!("qx:{}", id.simple()),
            format!("qa:{}:1", id.simple()),
            format!("order:{}", id.simple()),
            "qd:zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".into(),
        ] {
            assert_eq!(parse_quote_answer(&data), None, "{data}");
        }
    }

    #[test]
    fn open_order_data_is_the_verb_and_the_bare_id() {
        let id = Uuid::parse_str("0193a5b0-7c1e-7d2a-9f00-0123456789ab").unwrap();
        assert_eq!(open_order(id), "order:0193a5b07c1e7d2a9f000123456789ab");
        assert!(open_order(id).len() <= 64);
    }
}

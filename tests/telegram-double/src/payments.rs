//! Telegram Payments as the Bot API behaves: `sendInvoice` posts an invoice message (checked
//! as Telegram checks it: title, description, payload, provider token, currency, prices);
//! the user's "Pay" becomes a `pre_checkout_query` update that the bot must answer with
//! `answerPreCheckoutQuery` within 10 seconds — approved, Telegram charges and posts the
//! user's `successful_payment` service message; refused (with the bot's `error_message`),
//! or not answered in time, nothing is charged. Tests read the invoices sent and the
//! answers given, and may deliver a `successful_payment` again, as Telegram may.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{Value, json};

use crate::api::ApiError;
use crate::params::Params;
use crate::state::{State, StoredMessage, unix_now};

/// How long Telegram waits for `answerPreCheckoutQuery` before it cancels the payment.
pub const PRE_CHECKOUT_WINDOW: Duration = Duration::from_secs(10);

/// Currencies the double accepts (a subset of Telegram's list, plus Stars).
const CURRENCIES: &[&str] = &["UAH", "USD", "EUR", "GBP", "PLN", "XTR"];

/// An invoice the bot sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInvoice {
    pub chat_id: i64,
    pub message_id: i64,
    pub title: String,
    pub description: String,
    pub payload: String,
    pub provider_token: String,
    pub currency: String,
    /// The sum of `prices`, in the currency's minor unit.
    pub total_amount: i64,
    /// `(label, amount)` as the bot listed them.
    pub prices: Vec<(String, i64)>,
}

/// An `answerPreCheckoutQuery` call the double accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreCheckoutAnswer {
    pub pre_checkout_query_id: String,
    pub ok: bool,
    pub error_message: Option<String>,
}

/// A payment Telegram made: what its `successful_payment` message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub chat_id: i64,
    pub currency: String,
    pub total_amount: i64,
    pub invoice_payload: String,
    pub telegram_payment_charge_id: String,
    pub provider_payment_charge_id: String,
}

impl Payment {
    pub(crate) fn json(&self) -> Value {
        json!({
            "currency": self.currency,
            "total_amount": self.total_amount,
            "invoice_payload": self.invoice_payload,
            "telegram_payment_charge_id": self.telegram_payment_charge_id,
            "provider_payment_charge_id": self.provider_payment_charge_id,
        })
    }
}

/// A pre-checkout query waiting for the bot's answer.
pub(crate) struct PendingCheckout {
    /// Who pays: the invoice's chat, or anyone it was forwarded to.
    pub payer: i64,
    pub invoice: SentInvoice,
    pub asked: Instant,
    pub answered: bool,
}

/// What the double keeps about payments.
#[derive(Default)]
pub(crate) struct Payments {
    pub invoices: Vec<SentInvoice>,
    pub queries: std::collections::HashMap<String, PendingCheckout>,
    pub answers: Vec<PreCheckoutAnswer>,
    pub payments: Vec<Payment>,
}

fn length_between(text: &Option<String>, min: usize, max: usize) -> bool {
    text.as_ref()
        .is_some_and(|t| (min..=max).contains(&t.chars().count()))
}

/// `sendInvoice`: checks the invoice and posts it as a message; returns the invoice.
pub(crate) fn send_invoice(
    p: &Params,
    chat_id: i64,
) -> Result<(SentInvoice, StoredMessage), ApiError> {
    let title = p.str("title");
    if !length_between(&title, 1, 32) {
        return Err(ApiError::bad_request("TITLE_INVALID"));
    }
    let description = p.str("description");
    if !length_between(&description, 1, 255) {
        return Err(ApiError::bad_request("DESCRIPTION_INVALID"));
    }
    let payload = p.str("payload");
    if !payload
        .as_ref()
        .is_some_and(|p| (1..=128).contains(&p.len()))
    {
        return Err(ApiError::bad_request("INVOICE_PAYLOAD_INVALID"));
    }
    let currency = p.str("currency").unwrap_or_default();
    if !CURRENCIES.contains(&currency.as_str()) {
        return Err(ApiError::bad_request("CURRENCY_INVALID"));
    }
    let provider_token = p.str("provider_token").unwrap_or_default();
    // Stars need no provider; every other currency needs one.
    if (currency == "XTR") != provider_token.is_empty() {
        return Err(ApiError::bad_request("PAYMENT_PROVIDER_INVALID"));
    }
    let prices = match p.json("prices")? {
        Some(Value::Array(prices)) if !prices.is_empty() => prices,
        _ => return Err(ApiError::bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")),
    };
    let mut listed = Vec::with_capacity(prices.len());
    for price in &prices {
        let label = price.get("label").and_then(Value::as_str);
        let amount = price.get("amount").and_then(Value::as_i64);
        match (label, amount) {
            (Some(label), Some(amount)) if !label.is_empty() => {
                listed.push((label.to_owned(), amount))
            }
            _ => return Err(ApiError::bad_request("can't parse prices JSON object")),
        }
    }
    let total_amount: i64 = listed.iter().map(|(_, amount)| amount).sum();
    // Telegram refuses totals below about 1 USD or above about 10,000 USD; in kopiykas and
    // cents alike the double takes 1..=100,000,000.
    if !(1..=100_000_000).contains(&total_amount) {
        return Err(ApiError::bad_request("CURRENCY_TOTAL_AMOUNT_INVALID"));
    }
    let invoice = SentInvoice {
        chat_id,
        message_id: 0,
        title: title.unwrap_or_default(),
        description: description.unwrap_or_default(),
        payload: payload.unwrap_or_default(),
        provider_token,
        currency,
        total_amount,
        prices: listed,
    };
    let mut extra = serde_json::Map::new();
    extra.insert(
        "invoice".into(),
        json!({
            "title": invoice.title,
            "description": invoice.description,
            "start_parameter": p.str("start_parameter").unwrap_or_default(),
            "currency": invoice.currency,
            "total_amount": invoice.total_amount,
        }),
    );
    let message = StoredMessage {
        from_bot: true,
        date: unix_now(),
        edit_date: None,
        text: None,
        caption: None,
        reply_markup: p.json("reply_markup")?,
        document: None,
        photo: Vec::new(),
        extra,
    };
    Ok((invoice, message))
}

/// `answerPreCheckoutQuery`: accepted once per query, within [`PRE_CHECKOUT_WINDOW`]; an
/// approval charges the user (the caller posts the `successful_payment`).
pub(crate) fn answer_pre_checkout_query(
    st: &mut State,
    p: &Params,
) -> Result<Option<Payment>, ApiError> {
    let id = p.str("pre_checkout_query_id").unwrap_or_default();
    let ok = p.bool("ok");
    let error_message = p.str("error_message").filter(|m| !m.is_empty());
    if !ok && error_message.is_none() {
        return Err(ApiError::bad_request("ERROR_MESSAGE_EMPTY"));
    }
    let too_old = ApiError::bad_request(
        "query is too old and response timeout expired or query id is invalid",
    );
    let Some(query) = st.payments.queries.get_mut(&id) else {
        return Err(too_old);
    };
    if query.answered || query.asked.elapsed() > PRE_CHECKOUT_WINDOW {
        return Err(too_old);
    }
    query.answered = true;
    let invoice = query.invoice.clone();
    let payer = query.payer;
    st.payments.answers.push(PreCheckoutAnswer {
        pre_checkout_query_id: id,
        ok,
        error_message,
    });
    if !ok {
        return Ok(None);
    }
    let mut rng = rand::rng();
    let payment = Payment {
        // The service message goes to the payer's own chat.
        chat_id: payer,
        currency: invoice.currency,
        total_amount: invoice.total_amount,
        invoice_payload: invoice.payload,
        telegram_payment_charge_id: format!(
            "{}_{}",
            rng.random_range(1_000_000_000u64..9_999_999_999),
            rng.random_range(1_000_000_000u64..9_999_999_999)
        ),
        provider_payment_charge_id: format!(
            "prov_{}",
            rng.random_range(100_000_000u64..999_999_999)
        ),
    };
    st.payments.payments.push(payment.clone());
    Ok(Some(payment))
}

/// The `pre_checkout_query` update for `user_id` paying `invoice`; returns the query's id.
pub(crate) fn ask_pre_checkout(st: &mut State, user_id: i64, invoice: SentInvoice) -> String {
    let id = rand::rng()
        .random_range(1_000_000_000_000_000u64..9_000_000_000_000_000)
        .to_string();
    let query = json!({
        "id": id,
        "from": st.user_json(user_id),
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
        "invoice_payload": invoice.payload,
    });
    st.payments.queries.insert(
        id.clone(),
        PendingCheckout {
            payer: user_id,
            invoice,
            asked: Instant::now(),
            answered: false,
        },
    );
    st.push_update("pre_checkout_query", query);
    id
}

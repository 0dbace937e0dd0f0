//! Telegram Payments on the double: `sendInvoice` checked as Telegram checks it, the
//! `pre_checkout_query` a payment raises, `answerPreCheckoutQuery` once and within its
//! window, and the `successful_payment` an approval brings (only then).

mod common;

use common::{raw_client, start};
use serde_json::{Value, json};
use telegram_double::TelegramDouble;

async fn call(double: &TelegramDouble, method: &str, body: Value) -> (u16, Value) {
    let url = format!("{}/bot{}/{method}", double.api_url(), double.token());
    let response = raw_client()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

fn invoice(chat_id: i64) -> Value {
    json!({
        "chat_id": chat_id,
        "title": "Order №48213097",
        "description": "Notarisation × 3",
        "payload": "order:0190f5c2000070008000000000000000",
        "provider_token": "284685063:TEST:abc",
        "currency": "UAH",
        "prices": [{"label": "Notarisation × 3", "amount": 90000}, {"label": "Diploma × 2", "amount": 100000}],
    })
}

async fn updates(double: &TelegramDouble) -> Vec<Value> {
    let (_, body) = call(double, "getUpdates", json!({"timeout": 0})).await;
    let updates = body["result"].as_array().cloned().unwrap_or_default();
    if let Some(last) = updates.last() {
        let offset = last["update_id"].as_i64().unwrap() + 1;
        call(
            double,
            "getUpdates",
            json!({"offset": offset, "timeout": 0}),
        )
        .await;
    }
    updates
}

#[tokio::test]
async fn an_invoice_is_checked_like_telegram_checks_it() {
    let double = start().await;
    // The chat exists once the user has talked to the bot.
    double.user(51);
    let cases: [(&str, Value, &str); 6] = [
        ("title", json!(""), "Bad Request: TITLE_INVALID"),
        ("payload", json!(""), "Bad Request: INVOICE_PAYLOAD_INVALID"),
        ("currency", json!("XYZ"), "Bad Request: CURRENCY_INVALID"),
        (
            "provider_token",
            json!(""),
            "Bad Request: PAYMENT_PROVIDER_INVALID",
        ),
        (
            "prices",
            json!([]),
            "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
        (
            "prices",
            json!([{"label": "x", "amount": 0}]),
            "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID",
        ),
    ];
    for (field, value, description) in cases {
        let mut body = invoice(51);
        body[field] = value;
        let (status, answer) = call(&double, "sendInvoice", body).await;
        assert_eq!(
            (status, answer["description"].as_str()),
            (400, Some(description)),
            "{field}"
        );
    }
    assert!(
        double.invoices_to(51).is_empty(),
        "nothing sent for a refused invoice"
    );
    let (status, answer) = call(&double, "sendInvoice", invoice(51)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["invoice"]["total_amount"], 190000);
    assert_eq!(answer["result"]["invoice"]["currency"], "UAH");
    let sent = double.invoices_to(51);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].total_amount, 190_000);
    assert_eq!(
        sent[0].message_id,
        answer["result"]["message_id"].as_i64().unwrap()
    );
    double.shutdown().await;
}

#[tokio::test]
async fn only_an_approved_pre_checkout_query_charges_and_each_is_answered_once() {
    let double = start().await;
    let user = double.user(52);
    let (_, sent) = call(&double, "sendInvoice", invoice(52)).await;
    let message_id = sent["result"]["message_id"].as_i64().unwrap();

    // Refused: an error message is required, and nothing is charged.
    let refused = user.pay(message_id);
    let got = updates(&double).await;
    assert_eq!(got.len(), 1);
    let query = &got[0]["pre_checkout_query"];
    assert_eq!(query["id"], refused.as_str());
    assert_eq!(query["total_amount"], 190000);
    assert_eq!(
        query["invoice_payload"],
        "order:0190f5c2000070008000000000000000"
    );
    assert_eq!(query["from"]["id"], 52);
    let (status, answer) = call(
        &double,
        "answerPreCheckoutQuery",
        json!({"pre_checkout_query_id": refused, "ok": false}),
    )
    .await;
    assert_eq!(
        (status, answer["description"].as_str()),
        (400, Some("Bad Request: ERROR_MESSAGE_EMPTY"))
    );
    let (status, _) = call(
        &double,
        "answerPreCheckoutQuery",
        json!({"pre_checkout_query_id": refused, "ok": false, "error_message": "The order was cancelled."}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(double.payments().is_empty());
    assert!(
        updates(&double).await.is_empty(),
        "no successful_payment after a refusal"
    );

    // Approved: charged once, and the user's successful_payment message follows.
    let approved = user.pay(message_id);
    updates(&double).await;
    let (status, _) = call(
        &double,
        "answerPreCheckoutQuery",
        json!({"pre_checkout_query_id": approved, "ok": true}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, again) = call(
        &double,
        "answerPreCheckoutQuery",
        json!({"pre_checkout_query_id": approved, "ok": true}),
    )
    .await;
    assert_eq!(
        (status, again["description"].as_str()),
        (
            400,
            Some(
                "Bad Request: query is too old and response timeout expired or query id is invalid"
            )
        )
    );
    let payments = double.payments();
    assert_eq!(payments.len(), 1);
    let got = updates(&double).await;
    assert_eq!(got.len(), 1);
    let paid = &got[0]["message"]["successful_payment"];
    assert_eq!(paid["total_amount"], 190000);
    assert_eq!(paid["currency"], "UAH");
    assert_eq!(
        paid["telegram_payment_charge_id"],
        payments[0].telegram_payment_charge_id.as_str()
    );
    assert_eq!(got[0]["message"]["from"]["id"], 52);
    let answers = double.pre_checkout_answers();
    assert_eq!(
        answers
            .iter()
            .map(|a| (a.ok, a.error_message.clone()))
            .collect::<Vec<_>>(),
        [
            (false, Some("The order was cancelled.".to_owned())),
            (true, None)
        ]
    );

    // Delivered again on purpose: the same charge ids in a new message.
    user.repeat_successful_payment(&payments[0]);
    let got = updates(&double).await;
    assert_eq!(
        got[0]["message"]["successful_payment"]["telegram_payment_charge_id"],
        payments[0].telegram_payment_charge_id.as_str()
    );
    double.shutdown().await;
}

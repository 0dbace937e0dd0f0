//! Staff record money by hand: a bank transfer or cash within what is left, a refund within
//! what was paid, each audited and published; executors and bad amounts are refused.

use bureau_accounts::{Role, create_account};
use proto_events::{Event, OrderStatus, PaymentMethod};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn managers_record_payments_and_refunds_within_what_the_order_is_due() {
    let gateway = Gateway::start().await;
    let http = &gateway.http;
    let (customer, _) = gateway.customer("payer@example.com").await;
    let order_id = gateway
        .insert_order(
            customer,
            "48213098",
            "Notarise",
            OrderStatus::AwaitingConfirmation,
        )
        .await;
    sqlx::query("UPDATE orders SET total_minor = 90000, total_currency = 'UAH' WHERE id = ?")
        .bind(order_id)
        .execute(&gateway.db)
        .await
        .unwrap();
    create_account(
        &gateway.db,
        "boss@example.com",
        PASSWORD,
        "Maria",
        Role::Manager,
    )
    .await
    .unwrap();
    create_account(
        &gateway.db,
        "doer@example.com",
        PASSWORD,
        "Ivan",
        Role::Executor,
    )
    .await
    .unwrap();
    let manager = gateway.log_in("boss@example.com").await;
    let executor = gateway.log_in("doer@example.com").await;
    let (_connection, mut events) = gateway.observe_events().await;
    let payments = gateway.url(&format!("/api/staff/orders/{order_id}/payments"));
    let refunds = gateway.url(&format!("/api/staff/orders/{order_id}/refunds"));
    let post =
        |url: &str, token: &str, body: Value| http.post(url).bearer_auth(token).json(&body).send();

    let refused = post(
        &payments,
        &executor,
        json!({"amount_minor": 90000, "currency": "UAH", "method": "cash"}),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    for (body, code) in [
        (
            json!({"amount_minor": 0, "currency": "UAH", "method": "cash"}),
            "invalid_amount",
        ),
        (
            json!({"amount_minor": 100, "currency": "EUR", "method": "cash"}),
            "currency_mismatch",
        ),
        (
            json!({"amount_minor": 100, "currency": "UAH", "method": "telegram"}),
            "invalid_method",
        ),
        (
            json!({"amount_minor": 90001, "currency": "UAH", "method": "cash"}),
            "more_than_due",
        ),
    ] {
        let (_, got, _) = error_of(post(&payments, &manager, body).await.unwrap()).await;
        assert_eq!(got, code);
    }

    let recorded = post(
        &payments,
        &manager,
        json!({"amount_minor": 90000, "currency": "uah", "method": "bank_transfer", "note": "IBAN ...42"}),
    )
    .await
    .unwrap();
    assert_eq!(recorded.status(), StatusCode::ACCEPTED);
    let Event::PaymentReceived(paid) = next_event(&mut events).await.payload else {
        panic!("a payment event")
    };
    assert_eq!(
        (
            paid.order_id,
            paid.amount_minor,
            paid.currency.as_str(),
            paid.method
        ),
        (order_id, 90_000, "UAH", PaymentMethod::BankTransfer)
    );
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM staff_audit WHERE action = 'payment' AND order_id = ?",
    )
    .bind(order_id)
    .fetch_one(&gateway.db)
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // Nothing paid is recorded yet (no worker here): a refund has nothing to give back.
    let (_, code, _) = error_of(
        post(
            &refunds,
            &manager,
            json!({"amount_minor": 100, "currency": "UAH", "reason": "x"}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(code, "more_than_paid");
    // As the worker would record it: then a refund with a reason goes through.
    sqlx::query(
        "INSERT INTO order_payments (id, order_id, kind, method, amount_minor, currency, actor_kind, recorded_at)
         VALUES (?, ?, 'payment', 'bank_transfer', 90000, 'UAH', 'staff', UTC_TIMESTAMP(6))",
    )
    .bind(paid.payment_id)
    .bind(order_id)
    .execute(&gateway.db)
    .await
    .unwrap();
    let (_, code, _) = error_of(
        post(
            &refunds,
            &manager,
            json!({"amount_minor": 100, "currency": "UAH", "reason": " "}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(code, "invalid_reason");
    let refunded = post(
        &refunds,
        &manager,
        json!({"amount_minor": 30000, "currency": "UAH", "reason": "one page less"}),
    )
    .await
    .unwrap();
    assert_eq!(refunded.status(), StatusCode::ACCEPTED);
    let Event::PaymentRefunded(refund) = next_event(&mut events).await.payload else {
        panic!("a refund event")
    };
    assert_eq!(refund.amount_minor, 30_000);
    let view: Value = http
        .get(&payments)
        .bearer_auth(&manager)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["price_minor"], 90000);
    assert_eq!(view["paid_minor"], 90000);
    assert_eq!(view["paid"], true);
    assert_eq!(view["lines"][0]["method"], "bank_transfer");
    gateway.finish().await;
}

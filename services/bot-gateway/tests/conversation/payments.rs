//! Telegram Payments in the bot, on the double: "💳 Pay" sends the invoice for what the
//! server says is due; the `pre_checkout_query` is approved only for the payer's own,
//! payable order at exactly that amount and currency, else refused with a reason; the
//! `successful_payment` becomes one `PaymentReceived` however often it is delivered.

use bot_gateway::texts::key;
use bureau_platform::Secret;
use proto_events::{Actor, Event, OrderStatus, PaymentMethod};
use telegram_double::SentInvoice;
use uuid::Uuid;

use crate::support::{EN, Harness, WAIT, button_with_prefix};

const PROVIDER_TOKEN: &str = "284685063:TEST:bureau-double";

async fn insert_customer(harness: &Harness, telegram_user_id: i64) -> Uuid {
    let customer_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at)
         VALUES (?, 'Payer', 'en', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer_id)
    .bind(telegram_user_id)
    .bind(telegram_user_id)
    .execute(&harness.db)
    .await
    .expect("customer");
    customer_id
}

/// An order with a frozen total, as the persistence worker records a priced cart.
async fn insert_priced_order(
    harness: &Harness,
    customer_id: Uuid,
    number: &str,
    total: u64,
) -> Uuid {
    let order_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, service_code, body, status, status_version,
                             expected_files, total_minor, total_currency, created_at, updated_at)
         VALUES (?, ?, ?, 'telegram', 'notarisation', '', 'awaiting_confirmation', 1, 0, ?, 'UAH',
                 UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(order_id)
    .bind(number)
    .bind(customer_id)
    .bind(total)
    .execute(&harness.db)
    .await
    .expect("order");
    sqlx::query(
        "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, event_id, changed_at)
         VALUES (?, 1, NULL, 'awaiting_confirmation', 'customer', ?, UTC_TIMESTAMP(6))",
    )
    .bind(order_id)
    .bind(Uuid::now_v7())
    .execute(&harness.db)
    .await
    .expect("history");
    order_id
}

#[tokio::test]
async fn an_order_is_paid_through_its_invoice_once_and_bad_checkouts_are_refused() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let mut settings = harness.settings.clone();
    settings.telegram.payment_provider_token = Secret::new(PROVIDER_TOKEN);
    let gateway = harness.start_gateway(settings).await;
    let t = &harness.texts;
    let double = &harness.double;
    let mut payer = harness.customer(double.user_with(1601, "Payer", "en"));
    let stranger = double.user_with(1602, "Stranger", "en");
    let customer = insert_customer(&harness, 1601).await;
    insert_customer(&harness, 1602).await;
    let order_id = insert_priced_order(&harness, customer, "16010001", 90_000).await;

    // The order's page offers "💳 Pay"; pressing it sends the invoice for the total.
    payer.user.send_text(&t.get(EN, key::MENU_MY_ORDERS));
    let list = payer.next_reply().await;
    payer.press(&list, &button_with_prefix(&list, "od:")).await;
    let page = payer.next().await;
    let pay = button_with_prefix(&page, "pay:");
    assert_eq!(pay, format!("pay:{}", order_id.simple()));
    assert_eq!(payer.press(&page, &pay).await.text, None);
    let invoice: SentInvoice = double
        .wait_for_invoice(1601, 0, WAIT)
        .await
        .expect("an invoice");
    assert_eq!(
        (
            invoice.total_amount,
            invoice.currency.as_str(),
            invoice.provider_token.as_str()
        ),
        (90_000, "UAH", PROVIDER_TOKEN)
    );
    assert_eq!(invoice.payload, format!("order:{}", order_id.simple()));
    assert_eq!(invoice.title, "Order №16010001");
    payer.next().await; // the invoice message

    // A stranger paying a forwarded copy: refused as if there were no such order.
    let forwarded = stranger.pay_forwarded(&invoice);
    let answer = double
        .wait_for_pre_checkout_answer(&forwarded, WAIT)
        .await
        .unwrap();
    assert_eq!(
        (answer.ok, answer.error_message),
        (false, Some(t.get(EN, key::PAY_NOT_FOUND)))
    );

    // The price changed since the invoice: refused, with the new amount.
    sqlx::query("UPDATE orders SET total_minor = 95000 WHERE id = ?")
        .bind(order_id)
        .execute(&harness.db)
        .await
        .unwrap();
    let changed = payer.user.pay(invoice.message_id);
    let answer = double
        .wait_for_pre_checkout_answer(&changed, WAIT)
        .await
        .unwrap();
    assert_eq!(
        answer.error_message,
        Some(t.format(
            EN,
            key::PAY_AMOUNT_CHANGED,
            &[("number", "16010001"), ("amount", "950.00 UAH")]
        ))
    );
    assert!(double.payments().is_empty(), "nothing charged");

    // Back to the invoiced price: approved, charged, and recorded as one payment.
    sqlx::query("UPDATE orders SET total_minor = 90000 WHERE id = ?")
        .bind(order_id)
        .execute(&harness.db)
        .await
        .unwrap();
    let approved = payer.user.pay(invoice.message_id);
    let answer = double
        .wait_for_pre_checkout_answer(&approved, WAIT)
        .await
        .unwrap();
    assert!(answer.ok, "{answer:?}");
    let payment = double.payments().remove(0);
    payer
        .expect_reply(&t.format(
            EN,
            key::PAY_RECEIVED,
            &[("amount", "900.00 UAH"), ("number", "16010001")],
        ))
        .await;
    let first = events.next().await;
    let Event::PaymentReceived(received) = &first.payload else {
        panic!("a payment: {first:?}")
    };
    assert_eq!(
        (
            received.order_id,
            received.amount_minor,
            received.currency.as_str(),
            received.method
        ),
        (order_id, 90_000, "UAH", PaymentMethod::Telegram)
    );
    assert_eq!(
        received.telegram_payment_charge_id.as_deref(),
        Some(payment.telegram_payment_charge_id.as_str())
    );
    assert_eq!(
        received.provider_payment_charge_id.as_deref(),
        Some(payment.provider_payment_charge_id.as_str())
    );
    assert_eq!(received.actor, Actor::Customer);

    // Telegram delivers the same payment again: the same event, which consumers drop.
    payer.user.repeat_successful_payment(&payment);
    payer.next_reply().await;
    let again = events.next().await;
    assert_eq!(again.event_id, first.event_id);

    // Cancelled meanwhile: nothing more can be paid for it.
    sqlx::query("UPDATE orders SET status = ? WHERE id = ?")
        .bind(OrderStatus::Cancelled.as_str())
        .bind(order_id)
        .execute(&harness.db)
        .await
        .unwrap();
    let late = payer.user.pay(invoice.message_id);
    let answer = double
        .wait_for_pre_checkout_answer(&late, WAIT)
        .await
        .unwrap();
    assert_eq!(
        answer.error_message,
        Some(t.format(EN, key::PAY_CLOSED, &[("number", "16010001")]))
    );
    assert_eq!(double.payments().len(), 1);
    payer.assert_all_read();
    gateway.stop().await;
    harness.finish().await;
}

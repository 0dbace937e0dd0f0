//! The persistence worker on MariaDB and RabbitMQ: a cart's items and frozen total recorded
//! with the order (a total that disagrees with its items refused); a Telegram payment
//! recorded once however often it arrives (the same event again, or the same charge under
//! another event), the order paid and moved on to `accepted`; a refund un-pays it.

use std::time::Duration;

use bureau_platform::service::Running;
use bureau_test_support::{TestDatabase, eventually, isolate_broker};
use chrono::Utc;
use proto_events::{
    Actor, CustomerRef, Envelope, Money, OrderCreated, OrderItem, PaymentMethod, PaymentReceived,
    PaymentRefunded, order_total,
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

fn item(code: &str, quantity: u32, price: u64, unit: &str) -> OrderItem {
    OrderItem {
        service_code: code.into(),
        quantity,
        unit_price_minor: Some(price),
        currency: "UAH".into(),
        unit: unit.into(),
    }
}

fn order(order_id: Uuid, number: &str, items: Vec<OrderItem>, total: Option<Money>) -> Envelope {
    Envelope::new(
        "money-test",
        order_id,
        OrderCreated {
            order_id,
            order_number: number.into(),
            customer: CustomerRef::Telegram {
                user_id: 9101,
                chat_id: 9101,
                display_name: "Payer".into(),
                username: None,
                phone: None,
                language: Some("en".into()),
            },
            service_code: items.first().map(|i| i.service_code.clone()),
            text: String::new(),
            file_count: 0,
            created_at: Utc::now(),
            items,
            total,
        },
    )
}

fn paid(order_id: Uuid, number: &str, charge: &str) -> PaymentReceived {
    PaymentReceived {
        payment_id: proto_events::envelope::deterministic_id(charge.as_bytes()),
        order_id,
        order_number: number.into(),
        amount_minor: 190_000,
        currency: "UAH".into(),
        method: PaymentMethod::Telegram,
        telegram_payment_charge_id: Some(charge.into()),
        provider_payment_charge_id: Some("prov_1".into()),
        actor: Actor::Customer,
        note: None,
        received_at: Utc::now(),
    }
}

async fn wait_for(what: &str, condition: impl AsyncFn() -> bool) {
    eventually(what, WAIT, || condition())
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carts_and_payments_are_recorded_once_and_move_the_order_on() {
    let mut settings = bureau_test_support::settings().expect("settings");
    let db = TestDatabase::create(&mut settings, "bureau_test_money")
        .await
        .expect("database");
    isolate_broker(&mut settings.broker, "money");
    settings.persistence_worker.listen = "127.0.0.1:0".parse().unwrap();
    let stop = CancellationToken::new();
    let worker: Running = persistence_worker::start(settings.clone(), stop.clone())
        .await
        .expect("the worker starts");
    let bus = bureau_platform::bus::event_bus(&settings.broker, "money-test");
    bus.connect().await.expect("RabbitMQ");
    let pool = db.pool.clone();

    // A cart of two services: its lines and its total, recorded with the order.
    let items = vec![
        item("notarisation", 3, 30_000, "item"),
        item("translation.diploma", 2, 50_000, "page"),
    ];
    let (order_id, number) = (Uuid::now_v7(), "91010001");
    bus.publish(&order(order_id, number, items.clone(), order_total(&items)))
        .await
        .unwrap();
    // A forged total: refused for good, never recorded.
    let (forged_id, forged) = (Uuid::now_v7(), "91010002");
    bus.publish(&order(
        forged_id,
        forged,
        items.clone(),
        Some(Money {
            amount_minor: 1,
            currency: "UAH".into(),
        }),
    ))
    .await
    .unwrap();
    wait_for("the cart recorded", async || {
        let total: Option<(Option<u64>, Option<String>)> =
            sqlx::query_as("SELECT total_minor, total_currency FROM orders WHERE id = ?")
                .bind(order_id)
                .fetch_optional(&pool)
                .await
                .unwrap();
        total == Some((Some(190_000), Some("UAH".into())))
    })
    .await;
    let lines: Vec<(String, u32, Option<u64>, Option<u64>)> = sqlx::query_as(
        "SELECT service_code, quantity, unit_price_minor, line_total_minor
         FROM order_items WHERE order_id = ? ORDER BY position",
    )
    .bind(order_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        lines,
        [
            ("notarisation".into(), 3, Some(30_000), Some(90_000)),
            ("translation.diploma".into(), 2, Some(50_000), Some(100_000)),
        ]
    );

    // The payment, delivered three times: twice as the same event, once as another event
    // with the same Telegram charge.
    let first = Envelope::new(
        "money-test",
        order_id,
        paid(order_id, number, "tg_charge_1"),
    );
    let mut other = paid(order_id, number, "tg_charge_1");
    other.payment_id = Uuid::now_v7();
    for event in [
        first.clone(),
        first.clone(),
        Envelope::new("money-test", order_id, other),
    ] {
        bus.publish(&event).await.unwrap();
    }
    wait_for("the order paid and accepted", async || {
        let row: Option<(String, bool)> =
            sqlx::query_as("SELECT status, paid_at IS NOT NULL FROM orders WHERE id = ?")
                .bind(order_id)
                .fetch_optional(&pool)
                .await
                .unwrap();
        row == Some(("accepted".into(), true))
    })
    .await;
    // Let the third delivery land too, then count.
    wait_for("every delivery handled", async || {
        let handled: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM processed_events WHERE consumer = 'persistence-worker'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        handled >= 3
    })
    .await;
    let payments: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM order_payments WHERE order_id = ?")
            .bind(order_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(payments, 1, "one charge, one payment");
    let accepted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM order_status_history WHERE order_id = ? AND to_status = 'accepted' AND actor_kind = 'system'",
    )
    .bind(order_id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(accepted, 1);

    // A refund of part: no longer paid in full.
    bus.publish(&Envelope::new(
        "money-test",
        order_id,
        PaymentRefunded {
            refund_id: Uuid::now_v7(),
            order_id,
            order_number: number.into(),
            amount_minor: 50_000,
            currency: "UAH".into(),
            reason: "one page less".into(),
            actor_account_id: Uuid::now_v7(),
            refunded_at: Utc::now(),
        },
    ))
    .await
    .unwrap();
    wait_for("the refund un-pays the order", async || {
        let unpaid: Option<bool> =
            sqlx::query_scalar("SELECT paid_at IS NULL FROM orders WHERE id = ?")
                .bind(order_id)
                .fetch_optional(&pool)
                .await
                .unwrap();
        unpaid == Some(true)
    })
    .await;
    let forged_recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE id = ?")
        .bind(forged_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        forged_recorded, 0,
        "a total nobody computed is never recorded"
    );

    stop.cancel();
    let _ = worker.stopped().await;
    bus.close().await;
    bureau_test_support::remove_broker_namespace(&settings.broker).await;
    db.remove().await;
}

//! The persistence worker's promises on the real stack: every event recorded once, an
//! older status never overwriting a newer one, conversations and quotes kept.

use anyhow::Context;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use proto_events::{
    Actor, CustomerRef, Envelope, OrderCreated, OrderMessagePosted, OrderStatus,
    OrderStatusChanged, PriceQuoted,
};
use sqlx::Row;
use uuid::Uuid;

fn created(order_id: Uuid, number: &str) -> Envelope {
    Envelope::new(
        "e2e-test",
        order_id,
        OrderCreated {
            order_id,
            order_number: number.to_owned(),
            customer: CustomerRef::Telegram {
                user_id: 8101,
                chat_id: 8101,
                display_name: "Ordering Tester".into(),
                username: None,
                phone: None,
                language: Some("en".into()),
            },
            service_code: None,
            text: "out of order".into(),
            file_count: 0,
            created_at: chrono::Utc::now(),
        },
    )
}

fn change(
    order_id: Uuid,
    number: &str,
    from: OrderStatus,
    to: OrderStatus,
    version: u32,
) -> Envelope {
    Envelope::new(
        "e2e-test",
        order_id,
        OrderStatusChanged {
            order_id,
            order_number: number.to_owned(),
            from,
            to,
            version,
            reason: None,
            actor: Actor::Staff {
                account_id: Uuid::now_v7(),
            },
            changed_at: chrono::Utc::now(),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_status_arriving_late_never_overwrites_a_newer_one() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let order_id = Uuid::now_v7();
    let number = proto_events::order_number::generate();
    bus.publish(&created(order_id, &number)).await?;
    // The broker delivers version 3 before version 2.
    bus.publish(&change(
        order_id,
        &number,
        OrderStatus::Accepted,
        OrderStatus::InProgress,
        3,
    ))
    .await?;
    bus.publish(&change(
        order_id,
        &number,
        OrderStatus::AwaitingConfirmation,
        OrderStatus::Accepted,
        2,
    ))
    .await?;

    let history = eventually("three history rows", DEADLINE, || async {
        let rows = sqlx::query("SELECT version, to_status FROM order_status_history WHERE order_id = ? ORDER BY version")
            .bind(order_id)
            .fetch_all(&stack.db)
            .await
            .ok()?;
        (rows.len() == 3).then_some(rows)
    })
    .await?;
    let versions: Vec<u32> = history.iter().map(|r| r.get("version")).collect();
    assert_eq!(
        versions,
        [1, 2, 3],
        "the late change still joins the history"
    );
    let order = sqlx::query("SELECT status, status_version FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(order.get::<String, _>("status"), "in_progress");
    assert_eq!(order.get::<u32, _>("status_version"), 3);

    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_and_quotes_are_recorded_once() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let order_id = Uuid::now_v7();
    let number = proto_events::order_number::generate();
    bus.publish(&created(order_id, &number)).await?;

    let message = OrderMessagePosted {
        order_id,
        message_id: Uuid::now_v7(),
        author: Actor::Customer,
        text: "Can you make it by Friday?".into(),
    };
    // The same message published twice under two event ids: one row.
    bus.publish(&Envelope::new("e2e-test", order_id, message.clone()))
        .await?;
    bus.publish(&Envelope::new("e2e-test", order_id, message.clone()))
        .await?;
    let quote = Envelope::new(
        "e2e-test",
        order_id,
        PriceQuoted {
            order_id,
            order_number: number.clone(),
            amount_minor: 45_000,
            currency: "UAH".into(),
            note: None,
        },
    );
    bus.publish(&quote).await?;
    bus.publish(&quote).await?;

    eventually("the quote recorded", DEADLINE, || async {
        sqlx::query("SELECT 1 FROM order_quotes WHERE order_id = ?")
            .bind(order_id)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;
    // The persistence worker takes its queue in order: once a marker after everything is
    // recorded, every copy before it has been handled.
    let marker = Uuid::now_v7();
    bus.publish(&created(marker, &proto_events::order_number::generate()))
        .await?;
    eventually("the marker recorded", DEADLINE, || async {
        sqlx::query("SELECT 1 FROM orders WHERE id = ?")
            .bind(marker)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;

    let messages: Vec<String> =
        sqlx::query_scalar("SELECT body FROM order_messages WHERE order_id = ?")
            .bind(order_id)
            .fetch_all(&stack.db)
            .await?;
    assert_eq!(messages, ["Can you make it by Friday?"]);
    let quotes = sqlx::query("SELECT amount_minor, currency FROM order_quotes WHERE order_id = ?")
        .bind(order_id)
        .fetch_all(&stack.db)
        .await?;
    assert_eq!(quotes.len(), 1);
    assert_eq!(quotes[0].get::<u64, _>("amount_minor"), 45_000);
    let letters = bureau_event_bus::dead_letters::list(
        &bus,
        proto_events::topology::Consumer::PersistenceWorker,
        5,
    )
    .await
    .context("listing dead letters")?;
    assert!(letters.is_empty(), "nothing dead-lettered: {letters:?}");

    bus.close().await;
    stack.teardown().await
}

//! "My orders": paging, one order's page, cancelling where allowed, writing to staff, and
//! nobody else's orders.

use bot_gateway::texts::key;
use proto_events::{Actor, Event, OrderStatus};
use uuid::Uuid;

use crate::support::{Harness, UK};

#[tokio::test]
async fn my_orders_pages_shows_an_order_cancels_where_allowed_and_talks_to_staff() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut owner = harness.customer(harness.double.user_with(4004, "Owner", "uk"));
    let customer = insert_customer(&harness, 4004).await;
    let stranger = insert_customer(&harness, 4005).await;
    let foreign = insert_order(
        &harness,
        stranger,
        "40050000",
        OrderStatus::AwaitingConfirmation,
        0,
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..7u32 {
        let status = if i == 6 {
            OrderStatus::AwaitingConfirmation
        } else {
            OrderStatus::InProgress
        };
        ids.push(insert_order(&harness, customer, &format!("4004000{i}"), status, i).await);
    }
    let (newest, in_progress) = (ids[6], ids[5]);

    owner.user.send_text(&t.get(UK, key::MENU_MY_ORDERS));
    let list = owner
        .expect_reply(&t.format(
            UK,
            key::ORDERS_PAGE,
            &[("from", "1"), ("to", "5"), ("total", "7")],
        ))
        .await;
    let buttons = list.inline_buttons();
    let awaiting = t.status(UK, OrderStatus::AwaitingConfirmation);
    assert_eq!(
        buttons[0],
        (
            format!("№40040006 · {awaiting}"),
            format!("od:{}", newest.simple())
        ),
        "newest first"
    );
    assert_eq!(buttons.last().unwrap().1, "ol:5");
    owner
        .press_label(&list, &t.get(UK, key::BUTTON_OLDER))
        .await;
    let older = owner
        .expect_edit(&t.format(
            UK,
            key::ORDERS_PAGE,
            &[("from", "6"), ("to", "7"), ("total", "7")],
        ))
        .await;
    assert_eq!(older.inline_buttons().last().unwrap().1, "ol:0");

    // One order's page: service, text, files, history, and Cancel while it is allowed.
    owner
        .press(&older, &format!("od:{}", newest.simple()))
        .await;
    let page = owner.next().await;
    for part in [
        "№40040006",
        "Апостиль",
        "Текст замовлення 6",
        "• scan-6.pdf (2 КБ)",
        &awaiting,
    ] {
        assert!(page.body().contains(part), "{part} in {}", page.body());
    }
    owner
        .press_label(&page, &t.get(UK, key::BUTTON_CANCEL_ORDER))
        .await;
    let question = owner
        .expect_edit(&t.format(UK, key::ORDER_CANCEL_QUESTION, &[("number", "40040006")]))
        .await;
    owner
        .press_label(&question, &t.get(UK, key::BUTTON_YES_CANCEL))
        .await;
    owner
        .expect_edit(&t.format(UK, key::ORDER_CANCELLED, &[("number", "40040006")]))
        .await;
    // A request at the version the customer saw, never the change itself: the persistence
    // worker decides it, and the notifier tells the customer what was recorded.
    let cancelled = events.next().await;
    let Event::OrderStatusChangeRequested(requested) = &cancelled.payload else {
        panic!("a status change request: {cancelled:?}")
    };
    assert_eq!(
        (requested.order_id, requested.from, requested.to),
        (
            newest,
            OrderStatus::AwaitingConfirmation,
            OrderStatus::Cancelled
        )
    );
    assert_eq!(
        (requested.expected_version, requested.actor.clone()),
        (1, Actor::Customer)
    );

    // In progress: no Cancel; a forged one, or anything about someone else's order, is outdated.
    owner
        .press(&page, &format!("od:{}", in_progress.simple()))
        .await;
    let page = owner.next().await;
    assert!(
        page.inline_buttons()
            .iter()
            .all(|(_, data)| !data.starts_with("oc:")),
        "{:?}",
        page.inline_buttons()
    );
    let outdated = Some(t.get(UK, key::BUTTON_OUTDATED));
    for forged in [
        format!("oc:{}", in_progress.simple()),
        format!("oy:{}:1", in_progress.simple()),
        format!("od:{}", foreign.simple()),
        format!("oy:{}:1", foreign.simple()),
        format!("om:{}", foreign.simple()),
    ] {
        assert_eq!(owner.press(&page, &forged).await.text, outdated, "{forged}");
    }
    owner.user.send_text("/status 40050000");
    owner
        .expect_reply(&t.format(UK, key::STATUS_NOT_FOUND, &[("number", "40050000")]))
        .await;

    // The notifier's "Open order" button under a notification: the page as a new message.
    owner
        .press(&page, &format!("order:{}", in_progress.simple()))
        .await;
    let opened = owner.next_reply().await;
    assert!(opened.body().contains("№40040005"), "{}", opened.body());

    // Writing to staff about the order.
    owner
        .press_label(&opened, &t.get(UK, key::BUTTON_WRITE))
        .await;
    owner
        .expect_reply(&t.format(UK, key::WRITE_PROMPT, &[("number", "40040005")]))
        .await;
    owner.user.send_sticker();
    owner.expect_reply(&t.get(UK, key::WRITE_TEXT_ONLY)).await;
    owner.user.send_text("Коли буде готово?");
    owner
        .expect_reply(&t.format(UK, key::WRITE_SENT, &[("number", "40040005")]))
        .await;
    let Event::OrderMessagePosted(posted) = events.next().await.payload else {
        panic!("the message")
    };
    assert_eq!(
        (posted.order_id, posted.author, posted.text.as_str()),
        (in_progress, Actor::Customer, "Коли буде готово?")
    );

    owner.user.send_text(&t.get(UK, key::MENU_CONTACT));
    let contact = owner.next_reply().await;
    assert!(
        contact.body().contains(&harness.settings.business.phone),
        "{}",
        contact.body()
    );
    owner.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

/// A Telegram customer as the persistence worker would have recorded them.
async fn insert_customer(harness: &Harness, telegram_user_id: i64) -> Uuid {
    let customer_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at)
         VALUES (?, 'Owner', 'uk', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer_id)
    .bind(telegram_user_id)
    .bind(telegram_user_id)
    .execute(&harness.db)
    .await
    .expect("customer");
    customer_id
}

/// An order with one file and its history, as the persistence worker would have recorded it;
/// `age` orders them (a higher one is newer).
async fn insert_order(
    harness: &Harness,
    customer_id: Uuid,
    number: &str,
    status: OrderStatus,
    age: u32,
) -> Uuid {
    let order_id = Uuid::now_v7();
    let version: u32 = if status == OrderStatus::AwaitingConfirmation {
        1
    } else {
        3
    };
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, service_code, body, status, status_version,
                             expected_files, created_at, updated_at)
         VALUES (?, ?, ?, 'telegram', 'apostille', ?, ?, ?, 1,
                 UTC_TIMESTAMP(6) - INTERVAL ? HOUR, UTC_TIMESTAMP(6))",
    )
    .bind(order_id)
    .bind(number)
    .bind(customer_id)
    .bind(format!("Текст замовлення {age}"))
    .bind(status.as_str())
    .bind(version)
    .bind(100 - age)
    .execute(&harness.db)
    .await
    .expect("order");
    sqlx::query(
        "INSERT INTO order_files (id, order_id, original_name, source, declared_size, state, received_at)
         VALUES (?, ?, ?, 'telegram', 2048, 'received', UTC_TIMESTAMP(6))",
    )
    .bind(Uuid::now_v7())
    .bind(order_id)
    .bind(format!("scan-{age}.pdf"))
    .execute(&harness.db)
    .await
    .expect("file");
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

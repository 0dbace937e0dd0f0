//! The persistence worker's promises on the real stack: every event recorded once, status
//! changes of the old shape (left in queues by an upgrade) decided like requests,
//! conversations and quotes kept, a poison event in a batch dead-lettered alone, orders and
//! files written set-based with the same result as one by one.

use anyhow::Context;
use bureau_end_to_end::{DEADLINE, TestStack, eventually};
use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use proto_events::EventKind;
use proto_events::Service;
use proto_events::topology::Consumer;
use proto_events::{
    Actor, CustomerRef, Envelope, FilePurpose, FileReceived, FileSource, FileStored, OrderAssigned,
    OrderCommentPosted, OrderCreated, OrderMessagePosted, OrderStatus, OrderStatusChangeRequested,
    OrderStatusChanged, PriceQuoted,
};
use sqlx::Row;
use telegram_double::DoubleConfig;
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
            items: Vec::new(),
            total: None,
        },
    )
}

/// A status change of the old shape, as gateways published them before requests existed.
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
            // The old shape: a gateway's change, never decided.
            request_id: None,
        },
    )
}

/// Gateways of an older release published the change itself, with the next version. Left
/// in a queue by an upgrade, such an event is decided like a request for that version:
/// recorded if the order is still one version behind it, refused otherwise, and only the
/// recorded one is announced (by the worker, with its request id).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_of_the_old_shape_are_decided_like_requests() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    // The older release bound the persistence worker's queue to `order.status.changed`, and
    // a broker keeps bindings across the upgrade (they are declared, never removed).
    let channel = bus.open_channel().await?;
    channel
        .queue_bind(
            bus.topology().queue(Consumer::PersistenceWorker).into(),
            bus.topology().events_exchange().into(),
            EventKind::OrderStatusChanged.routing_key().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let order_id = Uuid::now_v7();
    let number = proto_events::order_number::generate();
    bus.publish(&created(order_id, &number)).await?;
    // The broker delivers version 3 before version 2: 3 cannot follow 1.
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

    let outcomes = eventually("both old-shape changes decided", DEADLINE, || async {
        let rows = sqlx::query(
            "SELECT to_status, outcome, refusal_code FROM status_change_requests WHERE order_id = ? AND outcome <> 'pending' ORDER BY expected_version",
        )
        .bind(order_id)
        .fetch_all(&stack.db)
        .await
        .ok()?;
        (rows.len() == 2).then_some(rows)
    })
    .await?;
    let decided: Vec<(String, String, Option<String>)> = outcomes
        .iter()
        .map(|r| (r.get("to_status"), r.get("outcome"), r.get("refusal_code")))
        .collect();
    assert_eq!(
        decided,
        [
            ("accepted".into(), "recorded".into(), None),
            (
                "in_progress".into(),
                "refused".into(),
                Some("version_conflict".into())
            ),
        ]
    );
    let versions: Vec<(u32, String)> = sqlx::query_as(
        "SELECT version, to_status FROM order_status_history WHERE order_id = ? ORDER BY version",
    )
    .bind(order_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(
        versions,
        [(1, "awaiting_confirmation".into()), (2, "accepted".into())]
    );
    let order = sqlx::query("SELECT status, status_version FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(order.get::<String, _>("status"), "accepted");
    assert_eq!(order.get::<u32, _>("status_version"), 2);

    let _ = channel.close(200, "done".into()).await;
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
            valid_until: None,
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

/// Events waiting while the worker is down come back as one batch: one transaction, each
/// event in its own savepoint. A poison event in the middle is dead-lettered with its reason
/// and leaves no trace (not even its inbox row), while the events around it are recorded;
/// a status change request in the batch is decided after the records before it committed,
/// so it finds its order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_in_a_batch_is_dead_lettered_alone() -> anyhow::Result<()> {
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        // Long enough for the whole backlog to fall into one batch.
        settings.persistence_worker.batch_max_wait_ms = 1_000;
    })
    .await?;
    stack.stop_service(Service::PersistenceWorker).await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
    let number = proto_events::order_number::generate();
    let poison = Envelope::new(
        "e2e-test",
        first,
        PriceQuoted {
            order_id: first,
            order_number: number.clone(),
            amount_minor: 45_000,
            currency: "hryvnia".into(),
            note: None,
            valid_until: None,
        },
    );
    let request = OrderStatusChangeRequested {
        request_id: Uuid::now_v7(),
        order_id: first,
        order_number: number.clone(),
        expected_version: 1,
        from: OrderStatus::AwaitingConfirmation,
        to: OrderStatus::Accepted,
        reason: None,
        actor: Actor::Staff {
            account_id: Uuid::now_v7(),
        },
        quote_id: None,
        requested_at: chrono::Utc::now(),
    };
    let batch = [
        created(first, &number),
        Envelope::new(
            "e2e-test",
            first,
            OrderMessagePosted {
                order_id: first,
                message_id: Uuid::now_v7(),
                author: Actor::Customer,
                text: "Before the poison".into(),
            },
        ),
        poison.clone(),
        Envelope::new("e2e-test", first, request.clone()),
        created(second, &proto_events::order_number::generate()),
    ];
    bus.publish_all(&batch).await?;
    stack.start_service(Service::PersistenceWorker).await?;

    let letters = eventually("the poison dead-lettered", DEADLINE, || async {
        let letters = bureau_event_bus::dead_letters::list(&bus, Consumer::PersistenceWorker, 5)
            .await
            .ok()?;
        (!letters.is_empty()).then_some(letters)
    })
    .await?;
    eventually("the second order recorded", DEADLINE, || async {
        sqlx::query("SELECT 1 FROM orders WHERE id = ?")
            .bind(second)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;
    assert_eq!(letters.len(), 1, "only the poison: {letters:?}");
    assert_eq!(
        letters[0].message_id.as_deref(),
        Some(poison.event_id.to_string().as_str())
    );
    let reason = letters[0].error.clone().unwrap_or_default();
    assert!(reason.contains("ISO 4217"), "the reason travels: {reason}");

    let order = sqlx::query("SELECT status, status_version FROM orders WHERE id = ?")
        .bind(first)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(order.get::<String, _>("status"), "accepted");
    assert_eq!(order.get::<u32, _>("status_version"), 2);
    let messages: Vec<String> =
        sqlx::query_scalar("SELECT body FROM order_messages WHERE order_id = ?")
            .bind(first)
            .fetch_all(&stack.db)
            .await?;
    assert_eq!(messages, ["Before the poison"]);
    let quotes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_quotes WHERE order_id = ?")
        .bind(first)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(quotes, 0);
    let poison_claimed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM processed_events WHERE event_id = ?")
            .bind(poison.event_id)
            .fetch_one(&stack.db)
            .await?;
    assert_eq!(poison_claimed, 0, "the poison's savepoint was rolled back");

    bus.close().await;
    stack.teardown().await
}

/// Internal comments are recorded once; assignments are all kept, and the order's assignee
/// is the one made last, whatever order the events arrive in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_and_assignments_are_recorded() -> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let order_id = Uuid::now_v7();
    let number = proto_events::order_number::generate();
    bus.publish(&created(order_id, &number)).await?;
    let (manager, first, second) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());

    let comment = OrderCommentPosted {
        order_id,
        comment_id: Uuid::now_v7(),
        author_account_id: manager,
        text: "Call before delivering".into(),
    };
    bus.publish(&Envelope::new("e2e-test", order_id, comment.clone()))
        .await?;
    bus.publish(&Envelope::new("e2e-test", order_id, comment))
        .await?;
    let assigned = |assignee, seconds_ago| OrderAssigned {
        order_id,
        order_number: number.clone(),
        assignee: Some(assignee),
        actor_account_id: manager,
        assigned_at: chrono::Utc::now() - chrono::Duration::seconds(seconds_ago),
    };
    // The later assignment arrives first.
    bus.publish(&Envelope::new("e2e-test", order_id, assigned(second, 1)))
        .await?;
    bus.publish(&Envelope::new("e2e-test", order_id, assigned(first, 5)))
        .await?;

    eventually("both assignments recorded", DEADLINE, || async {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM order_assignments WHERE order_id = ?")
                .bind(order_id)
                .fetch_one(&stack.db)
                .await
                .ok()?;
        (count == 2).then_some(())
    })
    .await?;
    let assignee: Option<Uuid> = sqlx::query_scalar("SELECT assignee_id FROM orders WHERE id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(assignee, Some(second));
    let comments: Vec<String> =
        sqlx::query_scalar("SELECT body FROM order_comments WHERE order_id = ?")
            .bind(order_id)
            .fetch_all(&stack.db)
            .await?;
    assert_eq!(comments, ["Call before delivering"]);
    bus.close().await;
    stack.teardown().await
}

/// An order of a Telegram customer, with one file to come.
fn order_with_file(order_id: Uuid, number: &str, user_id: i64, phone: Option<&str>) -> Envelope {
    Envelope::new(
        "e2e-test",
        order_id,
        OrderCreated {
            order_id,
            order_number: number.to_owned(),
            customer: CustomerRef::Telegram {
                user_id,
                chat_id: user_id,
                display_name: format!("Set Tester {user_id}"),
                username: None,
                phone: phone.map(str::to_owned),
                language: Some("en".into()),
            },
            service_code: None,
            text: "set-based".into(),
            file_count: 1,
            created_at: chrono::Utc::now(),
            items: Vec::new(),
            total: None,
        },
    )
}

fn file_received(order_id: Uuid, file_id: Uuid) -> Envelope {
    Envelope::new(
        "e2e-test",
        order_id,
        FileReceived {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
            source: FileSource::Telegram {
                telegram_file_id: format!("set-{file_id}"),
                telegram_file_unique_id: format!("set-unique-{file_id}"),
            },
            original_name: "contract\u{202e}fdp.exe".into(),
            declared_size: Some(1024),
            declared_content_type: Some("application/pdf".into()),
            note: None,
        },
    )
}

fn file_stored(order_id: Uuid, file_id: Uuid) -> Envelope {
    Envelope::new(
        "e2e-test",
        order_id,
        FileStored {
            order_id,
            file_id,
            purpose: FilePurpose::CustomerUpload,
            object_key: format!("orders/{order_id}/{file_id}"),
            size: 1024,
            sha256: "a".repeat(64),
            content_type: "application/pdf".into(),
            original_name: "contract.pdf".into(),
        },
    )
}

/// Publishes `events` while the worker is down, so they come back as one batch.
async fn as_one_batch(
    stack: &mut TestStack,
    bus: &bureau_event_bus::EventBus,
    events: &[Envelope],
) -> anyhow::Result<()> {
    stack.stop_service(Service::PersistenceWorker).await?;
    bus.publish_all(events).await?;
    stack.start_service(Service::PersistenceWorker).await
}

/// New orders and their files come in batches and are written set-based (one statement per
/// table): the result is what recording them one by one gives. An event whose order or file
/// is not recorded yet waits (even when they follow in the same batch); a file received in
/// one batch is stored by the next; a customer's phone told once is kept; and a batch that
/// cannot be written so (a redelivered event, an order number already taken) is recorded
/// one event at a time, the number's repeat and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_and_files_are_recorded_set_based_as_one_by_one() -> anyhow::Result<()> {
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.persistence_worker.batch_max_wait_ms = 1_000;
    })
    .await?;
    // The storage worker would fetch the files itself; here the test says what became of them.
    stack.stop_service(Service::StorageWorker).await?;
    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "e2e-test");
    let user = 8_200_001;
    let db = stack.db.clone();
    let orders: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let files: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    let numbers: Vec<String> = (0..4)
        .map(|_| proto_events::order_number::generate())
        .collect();

    // One batch: order 0 whole; order 1 by the same customer (phone told, then not); order
    // 2's file stored before its order and file arrive; order 3's file received only.
    let first_batch = [
        order_with_file(orders[0], &numbers[0], user, Some("+380501234567")),
        file_received(orders[0], files[0]),
        file_stored(orders[0], files[0]),
        file_stored(orders[2], files[2]),
        order_with_file(orders[1], &numbers[1], user, None),
        file_received(orders[1], files[1]),
        file_stored(orders[1], files[1]),
        order_with_file(orders[2], &numbers[2], user + 1, None),
        file_received(orders[2], files[2]),
        order_with_file(orders[3], &numbers[3], user + 2, None),
        file_received(orders[3], files[3]),
    ];
    as_one_batch(&mut stack, &bus, &first_batch).await?;
    let stored = |file: Uuid| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT state FROM order_files WHERE id = ?")
                .bind(file)
                .fetch_optional(&db)
                .await
                .ok()
                .flatten()
                .filter(|state| state == "stored")
        }
    };
    eventually("order 2's file stored after a wait", DEADLINE, || {
        stored(files[2])
    })
    .await?;
    let all_claimed = |events: Vec<Uuid>| {
        let db = db.clone();
        async move {
            let mut query = sqlx::QueryBuilder::<sqlx::MySql>::new(
                "SELECT COUNT(*) FROM processed_events WHERE consumer = 'persistence-worker' AND event_id IN ",
            );
            query.push_tuples(events.iter(), |mut row, id| {
                row.push_bind(*id);
            });
            let count: i64 = query.build_query_scalar().fetch_one(&db).await.ok()?;
            (count == events.len() as i64).then_some(())
        }
    };
    eventually("the first batch claimed", DEADLINE, || {
        all_claimed(first_batch.iter().map(|e| e.event_id).collect())
    })
    .await?;

    // The next batch: order 3's file stored (received in the batch before), and a new order.
    let (late_order, late_file) = (Uuid::now_v7(), Uuid::now_v7());
    let second_batch = [
        file_stored(orders[3], files[3]),
        order_with_file(
            late_order,
            &proto_events::order_number::generate(),
            user,
            None,
        ),
        file_received(late_order, late_file),
        file_stored(late_order, late_file),
    ];
    as_one_batch(&mut stack, &bus, &second_batch).await?;
    eventually("the second batch claimed", DEADLINE, || {
        all_claimed(second_batch.iter().map(|e| e.event_id).collect())
    })
    .await?;

    // A batch that cannot be written set-based: order 0's creation again (the same event,
    // redelivered) and a new order under order 0's number.
    let (twin, twin_file) = (Uuid::now_v7(), Uuid::now_v7());
    let third_batch = [
        first_batch[0].clone(),
        order_with_file(twin, &numbers[0], user + 3, None),
        file_received(twin, twin_file),
        file_stored(twin, twin_file),
    ];
    as_one_batch(&mut stack, &bus, &third_batch).await?;
    eventually("the twin's file stored", DEADLINE, || stored(twin_file)).await?;

    for file in files.iter().chain([&late_file, &twin_file]) {
        let row = sqlx::query(
            "SELECT state, original_name, object_key, size_bytes, sha256, CAST(settled_at IS NOT NULL AS SIGNED) AS settled
             FROM order_files WHERE id = ?",
        )
        .bind(file)
        .fetch_one(&stack.db)
        .await?;
        assert_eq!(row.get::<String, _>("state"), "stored", "file {file}");
        assert_eq!(row.get::<String, _>("original_name"), "contractfdp.exe");
        assert!(
            row.get::<String, _>("object_key")
                .ends_with(&file.to_string())
        );
        assert_eq!(row.get::<u64, _>("size_bytes"), 1024);
        assert_eq!(row.get::<String, _>("sha256"), "a".repeat(64));
        assert_eq!(row.get::<i64, _>("settled"), 1);
    }
    for order in orders.iter().chain([&late_order, &twin]) {
        let history: Vec<(u32, String)> = sqlx::query_as(
            "SELECT version, to_status FROM order_status_history WHERE order_id = ?",
        )
        .bind(order)
        .fetch_all(&stack.db)
        .await?;
        assert_eq!(
            history,
            [(1, "awaiting_confirmation".into())],
            "order {order}"
        );
    }
    let repeats: Vec<(Uuid, u16)> = sqlx::query_as(
        "SELECT id, order_number_repeat FROM orders WHERE order_number = ? ORDER BY order_number_repeat",
    )
    .bind(&numbers[0])
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(repeats, [(orders[0], 0), (twin, 1)]);
    // One customer for the orders of one Telegram user, who keeps the phone told once.
    let customers: Vec<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT DISTINCT c.id, c.phone FROM orders o JOIN customers c ON c.id = o.customer_id
         WHERE o.id IN (?, ?, ?)",
    )
    .bind(orders[0])
    .bind(orders[1])
    .bind(late_order)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(customers.len(), 1, "{customers:?}");
    assert_eq!(customers[0].1.as_deref(), Some("+380501234567"));
    let claims: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM processed_events WHERE consumer = 'persistence-worker' AND event_id = ?",
    )
    .bind(first_batch[0].event_id)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(claims, 1);
    let letters = bureau_event_bus::dead_letters::list(&bus, Consumer::PersistenceWorker, 5)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(letters.is_empty(), "nothing dead-lettered: {letters:?}");

    bus.close().await;
    stack.teardown().await
}

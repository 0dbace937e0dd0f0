//! Notifications end to end, on the real stack with the Telegram double enforcing
//! Telegram's limits (1/s per chat with a burst of 3, 30/s overall, 20/min per group):
//! 1. status changes, results, staff messages and quotes reach the right chat in the
//!    customer's language;
//! 2. rapid changes of one order are never reordered (they may be coalesced);
//! 3. a 429 is waited out, a 403 marks the customer unreachable, a 5xx is retried;
//! 4. a redelivered event is sent once;
//! 5. two notifier replicas together stay inside Telegram's limits;
//! 6. a web page receives status changes live, and staff get the live feed.
//!
//! Customers and orders are written straight into the test database (the persistence
//! worker's job, covered by the skeleton tests), so each test controls exactly which chat,
//! language and status version a notice has; events go through the real broker.

use std::time::Duration;

use anyhow::{Context, anyhow};
use bureau_end_to_end::web::{change_status, login};
use bureau_end_to_end::{DEADLINE, TestStack, eventually, random_bytes, sha256_hex};
use bureau_event_bus::EventBus;
use chrono::Utc;
use futures::StreamExt;
use proto_events::{
    Actor, Envelope, FilePurpose, FileStored, OrderMessagePosted, OrderStatus, OrderStatusChanged,
    PriceQuoted,
};
use serde_json::{Value, json};
use sqlx::Row;
use std::sync::Arc;
use telegram_double::{DoubleConfig, Fault};
use uuid::Uuid;

/// A customer with one order, as the persistence worker would have written them.
#[derive(Debug, Clone)]
struct Seeded {
    order_id: Uuid,
    order_number: String,
    customer_id: Uuid,
    chat_id: i64,
}

/// A stack whose notifier has room for several notices in flight (the harness gives every
/// service 5 database connections; a notice in flight holds two).
async fn stack() -> anyhow::Result<TestStack> {
    TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.database.max_connections = 12;
        settings.notifier.concurrency = 4;
    })
    .await
}

fn bus(stack: &TestStack) -> Arc<EventBus> {
    bureau_platform::bus::event_bus(&stack.settings.broker, "notifications-test")
}

async fn seed_customer(stack: &TestStack, chat_id: i64, language: &str) -> anyhow::Result<Uuid> {
    let customer_id = Uuid::now_v7();
    stack.telegram.user(chat_id);
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at) \
         VALUES (?, 'Test Customer', ?, ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer_id)
    .bind(language)
    .bind(chat_id)
    .bind(chat_id)
    .execute(&stack.db)
    .await?;
    Ok(customer_id)
}

async fn seed_order(stack: &TestStack, customer_id: Uuid, chat_id: i64) -> anyhow::Result<Seeded> {
    let order = Seeded {
        order_id: Uuid::now_v7(),
        order_number: proto_events::order_number::generate(),
        customer_id,
        chat_id,
    };
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) \
         VALUES (?, ?, ?, 'telegram', 'Translate my diploma', 'awaiting_confirmation', 1, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(order.order_id)
    .bind(&order.order_number)
    .bind(order.customer_id)
    .execute(&stack.db)
    .await?;
    Ok(order)
}

async fn seed(stack: &TestStack, chat_id: i64, language: &str) -> anyhow::Result<Seeded> {
    let customer_id = seed_customer(stack, chat_id, language).await?;
    seed_order(stack, customer_id, chat_id).await
}

fn status_change(order: &Seeded, to: OrderStatus, version: u32) -> Envelope {
    let change = OrderStatusChanged {
        order_id: order.order_id,
        order_number: order.order_number.clone(),
        from: OrderStatus::AwaitingConfirmation,
        to,
        version,
        reason: None,
        actor: Actor::Staff {
            account_id: Uuid::now_v7(),
        },
        changed_at: Utc::now(),
        // As the persistence worker publishes a change it recorded.
        request_id: Some(Uuid::now_v7()),
    };
    Envelope::new("notifications-test", order.order_id, change)
}

/// The status versions the chat was told about for `order`, in the order it got them.
fn announced(stack: &TestStack, order: &Seeded, texts: &[(&str, u32)]) -> Vec<u32> {
    stack
        .telegram
        .messages_to(order.chat_id)
        .iter()
        .filter_map(|m| {
            let text = m.text.as_deref()?;
            texts
                .iter()
                .find(|(status, _)| text == format!("Order №{}: {status}", order.order_number))
                .map(|(_, version)| *version)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notice_reaches_the_right_chat_in_the_customers_language() -> anyhow::Result<()> {
    let stack = stack().await?;
    let bus = bus(&stack);
    let english = seed(&stack, 8101, "en").await?;
    let ukrainian = seed(&stack, 8102, "uk").await?;

    bus.publish_all(&[
        status_change(&english, OrderStatus::Accepted, 2),
        status_change(&ukrainian, OrderStatus::Accepted, 2),
    ])
    .await?;
    let en = stack
        .telegram
        .wait_for_message(english.chat_id, DEADLINE, |m| m.text.is_some())
        .await?;
    assert_eq!(
        en.body(),
        format!("Order №{}: Accepted", english.order_number)
    );
    assert_eq!(
        en.inline_buttons(),
        vec![(
            "Open order".to_owned(),
            format!("order:{}", english.order_id.simple())
        )]
    );
    let uk = stack
        .telegram
        .wait_for_message(ukrainian.chat_id, DEADLINE, |m| m.text.is_some())
        .await?;
    assert_eq!(
        uk.body(),
        format!("Замовлення №{}: Прийнято", ukrainian.order_number)
    );
    assert_eq!(uk.inline_buttons()[0].0, "Відкрити замовлення");

    // A staff message (the customer's own is not echoed back) and a price quote.
    let staff_message = OrderMessagePosted {
        order_id: english.order_id,
        message_id: Uuid::now_v7(),
        author: Actor::Staff {
            account_id: Uuid::now_v7(),
        },
        text: "We need a clearer scan of page 2.".into(),
    };
    let own_message = OrderMessagePosted {
        message_id: Uuid::now_v7(),
        author: Actor::Customer,
        text: "Here it is".into(),
        ..staff_message.clone()
    };
    let quote = PriceQuoted {
        order_id: ukrainian.order_id,
        order_number: ukrainian.order_number.clone(),
        amount_minor: 125_050,
        currency: "UAH".into(),
        note: Some("з нотаріальним засвідченням".into()),
        valid_until: None,
    };
    let quote = Envelope::new("notifications-test", ukrainian.order_id, quote);
    bus.publish_all(&[
        Envelope::new("notifications-test", english.order_id, own_message),
        Envelope::new("notifications-test", english.order_id, staff_message),
        quote.clone(),
    ])
    .await?;
    stack
        .telegram
        .wait_for_message(english.chat_id, DEADLINE, |m| {
            m.body()
                == format!(
                    "Order №{}, a message from us:\nWe need a clearer scan of page 2.",
                    english.order_number
                )
        })
        .await?;
    let quoted = stack
        .telegram
        .wait_for_message(ukrainian.chat_id, DEADLINE, |m| {
            m.body()
                == format!(
                    "Замовлення №{}: вартість 1250.50 UAH. Прийміть або відхиліть її кнопками нижче.\nз нотаріальним засвідченням",
                    ukrainian.order_number
                )
        })
        .await?;
    // Accept / Decline name the quote (its event id) for the bot to answer.
    let answers: Vec<String> = quoted
        .inline_buttons()
        .into_iter()
        .map(|(_, data)| data)
        .take(2)
        .collect();
    assert_eq!(
        answers,
        [
            format!("qa:{}", quote.event_id.simple()),
            format!("qd:{}", quote.event_id.simple())
        ]
    );

    // A result file: sent as the document itself, streamed from the object store; one
    // above Telegram's 50 MB upload limit goes as a signed download link instead.
    let bytes = random_bytes(64 * 1024);
    let key = format!("orders/{}/result/translation.pdf", english.order_id);
    stack
        .store
        .client()
        .put_object()
        .bucket(stack.store.bucket())
        .key(&key)
        .body(bytes.clone().into())
        .send()
        .await
        .map_err(|e| anyhow!("putting the result: {e}"))?;
    let result = FileStored {
        order_id: english.order_id,
        file_id: Uuid::now_v7(),
        purpose: FilePurpose::Result,
        object_key: key,
        size: bytes.len() as u64,
        sha256: sha256_hex(&bytes),
        content_type: "application/pdf".into(),
        original_name: "translation.pdf".into(),
    };
    let big = FileStored {
        file_id: Uuid::now_v7(),
        object_key: format!("orders/{}/result/big.zip", english.order_id),
        size: 60 * 1024 * 1024,
        original_name: "big.zip".into(),
        ..result.clone()
    };
    bus.publish_all(&[
        Envelope::new("notifications-test", english.order_id, result),
        Envelope::new("notifications-test", english.order_id, big),
    ])
    .await?;
    let document = stack
        .telegram
        .wait_for_message(english.chat_id, DEADLINE, |m| m.document.is_some())
        .await?;
    let sent = document.document.as_ref().context("a document")?;
    assert_eq!(sent.file_name, "translation.pdf");
    assert_eq!(
        sent.sha256_hex,
        sha256_hex(&bytes),
        "the customer gets exactly the stored bytes"
    );
    assert_eq!(
        document.body(),
        format!("Order №{}: your result is ready", english.order_number)
    );
    let link = stack
        .telegram
        .wait_for_message(english.chat_id, DEADLINE, |m| m.body().contains("big.zip"))
        .await?;
    let prefix = format!(
        "{}/d/",
        stack.settings.web_gateway.public_url.trim_end_matches('/')
    );
    assert!(
        link.body()
            .lines()
            .last()
            .is_some_and(|line| line.starts_with(&prefix)),
        "{}",
        link.body()
    );

    // The customer's own message never reached their chat.
    assert!(
        !stack
            .telegram
            .messages_to(english.chat_id)
            .iter()
            .any(|m| m.body().contains("Here it is"))
    );
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_changes_are_never_reordered() -> anyhow::Result<()> {
    let stack = stack().await?;
    let bus = bus(&stack);
    let statuses = [("Accepted", 2), ("In progress", 3), ("Ready", 4)];
    let mut orders = Vec::new();
    for chat in 0..5 {
        orders.push(seed(&stack, 8200 + chat, "en").await?);
    }
    // Three changes per order in one batch: with four handlers in flight, later versions
    // routinely start before earlier ones.
    let mut batch = Vec::new();
    for order in &orders {
        batch.push(status_change(order, OrderStatus::Accepted, 2));
        batch.push(status_change(order, OrderStatus::InProgress, 3));
        batch.push(status_change(order, OrderStatus::Ready, 4));
    }
    bus.publish_all(&batch).await?;

    for order in &orders {
        let ready = format!("Order №{}: Ready", order.order_number);
        stack
            .telegram
            .wait_for_message(order.chat_id, DEADLINE, |m| m.body() == ready)
            .await?;
    }
    // Everything was handled once the notifier queue is empty and nothing is in flight.
    let journal_complete = || async {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications_sent")
            .fetch_one(&stack.db)
            .await
            .ok()?;
        let sent: usize = orders
            .iter()
            .map(|o| announced(&stack, o, &statuses).len())
            .sum();
        (rows as usize == sent).then_some(())
    };
    eventually(
        "the journal matches what was sent",
        DEADLINE,
        journal_complete,
    )
    .await?;
    for order in &orders {
        let versions = announced(&stack, order, &statuses);
        assert!(
            versions.windows(2).all(|pair| pair[0] < pair[1]),
            "chat {} saw versions {versions:?}",
            order.chat_id
        );
        assert_eq!(versions.last(), Some(&4));
    }
    assert_eq!(stack.telegram.stats().too_many_requests, 0);
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_control_blocked_chats_and_server_errors() -> anyhow::Result<()> {
    let stack = stack().await?;
    let bus = bus(&stack);
    let order = seed(&stack, 8301, "en").await?;
    let blocked = seed(&stack, 8302, "en").await?;

    // 429: waited out (retry_after), then delivered.
    stack.telegram.set_fault(Fault::TooManyRequests {
        remaining: 1,
        retry_after: 1,
    });
    bus.publish(&status_change(&order, OrderStatus::Accepted, 2))
        .await?;
    let accepted = format!("Order №{}: Accepted", order.order_number);
    stack
        .telegram
        .wait_for_message(order.chat_id, DEADLINE, |m| m.body() == accepted)
        .await?;
    assert_eq!(stack.telegram.stats().too_many_requests, 1);

    // 5xx: the event goes back to the bus and is delivered on a later attempt.
    stack
        .telegram
        .set_fault(Fault::ServerError { remaining: 1 });
    bus.publish(&status_change(&order, OrderStatus::InProgress, 3))
        .await?;
    let in_progress = format!("Order №{}: In progress", order.order_number);
    stack
        .telegram
        .wait_for_message(order.chat_id, DEADLINE, |m| m.body() == in_progress)
        .await?;
    assert_eq!(stack.telegram.stats().server_errors, 1);

    // 403: the customer is marked unreachable (staff see it on the customer) and Telegram
    // is not asked again.
    stack.telegram.user(blocked.chat_id).block_bot();
    bus.publish(&status_change(&blocked, OrderStatus::Accepted, 2))
        .await?;
    eventually(
        "the blocked customer is marked unreachable",
        DEADLINE,
        || async {
            let marked: Option<chrono::DateTime<Utc>> =
                sqlx::query_scalar("SELECT telegram_unreachable_at FROM customers WHERE id = ?")
                    .bind(blocked.customer_id)
                    .fetch_one(&stack.db)
                    .await
                    .ok()?;
            marked.map(|_| ())
        },
    )
    .await?;
    // Staff see it on the order list, to reach the customer another way.
    let token =
        bureau_end_to_end::web::staff(&stack, "desk@example.com", bureau_accounts::Role::Manager)
            .await?;
    let listing: serde_json::Value = stack
        .http
        .get(stack.web_url("/api/staff/orders"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let flagged: Vec<&str> = listing["orders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| !o["customer_telegram_unreachable_since"].is_null())
        .filter_map(|o| o["order_number"].as_str())
        .collect();
    assert_eq!(flagged, [blocked.order_number.as_str()], "{listing}");

    bus.publish(&status_change(&blocked, OrderStatus::InProgress, 3))
        .await?;
    // A later notice to another chat shows the blocked one's second event was handled.
    bus.publish(&status_change(&order, OrderStatus::Ready, 4))
        .await?;
    let ready = format!("Order №{}: Ready", order.order_number);
    stack
        .telegram
        .wait_for_message(order.chat_id, DEADLINE, |m| m.body() == ready)
        .await?;
    eventually(
        "the second notice to the blocked chat is skipped",
        DEADLINE,
        || async {
            let stats = stack.telegram.stats();
            (stats.forbidden == 1).then_some(())
        },
    )
    .await?;
    assert_eq!(
        announced(
            &stack,
            &order,
            &[("Accepted", 2), ("In progress", 3), ("Ready", 4)]
        ),
        vec![2, 3, 4]
    );
    // What did not reach the customer is recorded for staff: the 403, then the notice not
    // tried; the 5xx that was retried and delivered is recorded and its delivery too (the
    // order page shows only what never arrived).
    let failures: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, outcome FROM notification_failures WHERE order_id = ? ORDER BY failed_at",
    )
    .bind(blocked.order_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(
        failures,
        [
            ("status".to_owned(), "blocked".to_owned()),
            ("status".to_owned(), "skipped_unreachable".to_owned())
        ]
    );
    let retried: Vec<(String, i64)> = sqlx::query_as(
        "SELECT f.outcome, CAST(COUNT(s.event_id) AS SIGNED) FROM notification_failures f \
         LEFT JOIN notifications_sent s ON s.event_id = f.event_id WHERE f.order_id = ? GROUP BY f.outcome",
    )
    .bind(order.order_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(retried, [("failing".to_owned(), 1)]);
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_event_is_sent_once() -> anyhow::Result<()> {
    let stack = stack().await?;
    let bus = bus(&stack);
    let order = seed(&stack, 8401, "en").await?;
    let accepted = status_change(&order, OrderStatus::Accepted, 2);
    let staff_message = Envelope::new(
        "notifications-test",
        order.order_id,
        OrderMessagePosted {
            order_id: order.order_id,
            message_id: Uuid::now_v7(),
            author: Actor::Staff {
                account_id: Uuid::now_v7(),
            },
            text: "Ready tomorrow".into(),
        },
    );
    bus.publish_all(&[accepted.clone(), staff_message.clone()])
        .await?;
    stack
        .telegram
        .wait_for_message(order.chat_id, DEADLINE, |m| {
            m.body().ends_with("Ready tomorrow")
        })
        .await?;
    let text = format!("Order №{}: Accepted", order.order_number);
    stack
        .telegram
        .wait_for_message(order.chat_id, DEADLINE, |m| m.body() == text)
        .await?;
    eventually("both journaled", DEADLINE, || async {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications_sent")
            .fetch_one(&stack.db)
            .await
            .ok()?;
        (rows == 2).then_some(())
    })
    .await?;

    // The same events again (as the broker redelivers them), then a newer change.
    bus.publish_all(&[accepted, staff_message]).await?;
    bus.publish(&status_change(&order, OrderStatus::InProgress, 3))
        .await?;
    let in_progress = format!("Order №{}: In progress", order.order_number);
    stack
        .telegram
        .wait_for_message(order.chat_id, DEADLINE, |m| m.body() == in_progress)
        .await?;
    eventually("the redeliveries are handled", DEADLINE, || async {
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications_sent")
            .fetch_one(&stack.db)
            .await
            .ok()?;
        (rows == 3).then_some(())
    })
    .await?;
    let bodies: Vec<String> = stack
        .telegram
        .messages_to(order.chat_id)
        .iter()
        .map(|m| m.body().to_owned())
        .collect();
    assert_eq!(
        bodies.iter().filter(|b| **b == text).count(),
        1,
        "{bodies:?}"
    );
    assert_eq!(
        bodies
            .iter()
            .filter(|b| b.ends_with("Ready tomorrow"))
            .count(),
        1,
        "{bodies:?}"
    );
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_notifiers_together_stay_inside_telegrams_limits() -> anyhow::Result<()> {
    const CHATS: i64 = 20;
    const PER_CHAT: usize = 6;
    let mut stack = stack().await?;
    stack.start_extra_notifier().await?;
    let bus = bus(&stack);

    let mut orders = Vec::new();
    for chat in 0..CHATS {
        let chat_id = 8500 + chat;
        let customer = seed_customer(&stack, chat_id, "en").await?;
        for _ in 0..PER_CHAT {
            orders.push(seed_order(&stack, customer, chat_id).await?);
        }
    }
    // Round-robin over chats, as many customers' orders move at once.
    let mut batch = Vec::new();
    for round in 0..PER_CHAT {
        for chat in 0..CHATS as usize {
            batch.push(status_change(
                &orders[chat * PER_CHAT + round],
                OrderStatus::Accepted,
                2,
            ));
        }
    }
    bus.publish_all(&batch).await?;

    let total = orders.len() as u64;
    eventually(
        &format!("{total} notices delivered"),
        Duration::from_secs(45),
        || async { (stack.telegram.stats().sent_ok >= total).then_some(()) },
    )
    .await?;
    let stats = stack.telegram.stats();
    assert_eq!(stats.sent_ok, total);
    assert_eq!(
        stats.too_many_requests, 0,
        "the shared pace kept both replicas inside the limits"
    );
    for chat in 0..CHATS {
        let chat_id = 8500 + chat;
        // The pace spaces one chat's messages a second apart; the double's burst is 3.
        let in_one_second = stats.max_sends_in_window(chat_id, Duration::from_secs(1));
        assert!(
            in_one_second <= 2,
            "chat {chat_id}: {in_one_second} messages within a second"
        );
        assert_eq!(stack.telegram.messages_to(chat_id).len(), PER_CHAT);
    }
    bus.close().await;
    stack.teardown().await
}

/// Server-sent events as they arrive: `(event, data)` pairs; comments (keep-alives) skipped.
struct SseReader {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl SseReader {
    async fn open(stack: &TestStack, path: &str, token: &str) -> anyhow::Result<SseReader> {
        let response = stack
            .http
            .get(stack.web_url(path))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .send()
            .await?;
        anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
        Ok(SseReader {
            body: response.bytes_stream().boxed(),
            buffer: String::new(),
        })
    }

    async fn next(&mut self) -> anyhow::Result<(String, Value)> {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        event = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if !data.is_empty() {
                    return Ok((event, serde_json::from_str(&data)?));
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .context("no server-sent event in time")?
                .context("the event stream ended")??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_and_staff_get_changes_live() -> anyhow::Result<()> {
    let stack = stack().await?;
    let password = "correct horse battery staple";
    let created = stack
        .http
        .post(stack.web_url("/api/accounts"))
        .json(&json!({"email": "live@example.com", "password": password, "display_name": "Live Customer"}))
        .send()
        .await?;
    anyhow::ensure!(created.status() == 201, "register: {}", created.status());
    let customer = login(&stack, "live@example.com", password).await?;
    bureau_accounts::create_account(
        &stack.db,
        "manager@example.com",
        password,
        "Maria Manager",
        bureau_accounts::Role::Manager,
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let staff = login(&stack, "manager@example.com", password).await?;

    // Staff watch the feed; a customer's new order shows up on it.
    let mut feed = SseReader::open(&stack, "/api/staff/feed", &staff).await?;
    assert_eq!(feed.next().await?.0, "ready");
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(&customer)
        .multipart(reqwest::multipart::Form::new().text("text", "Print 20 copies, A4"))
        .send()
        .await?;
    anyhow::ensure!(placed.status() == 201, "placing: {}", placed.status());
    let placed: Value = placed.json().await?;
    let number = placed["order_number"]
        .as_str()
        .context("order_number")?
        .to_owned();
    let (event, data) = feed.next().await?;
    assert_eq!(event, "order.created");
    assert_eq!(data["order_number"], number.as_str());
    assert_eq!(data["channel"], "web");

    // The customer's order page: the current status first, then each change as it happens.
    let order_id: Uuid = eventually("the order in MySQL", DEADLINE, || async {
        let row = sqlx::query("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()??;
        Some(row.get("id"))
    })
    .await?;
    let mut page =
        SseReader::open(&stack, &format!("/api/orders/{number}/live"), &customer).await?;
    let (event, snapshot) = page.next().await?;
    assert_eq!(event, "status");
    assert_eq!(snapshot["status"], "awaiting_confirmation");
    assert_eq!(snapshot["version"], 1);

    let changed = change_status(&stack, &staff, order_id, "accepted").await?;
    assert_eq!(changed.status(), 202);
    let (event, update) = page.next().await?;
    assert_eq!(event, "status");
    assert_eq!(update["status"], "accepted");
    assert_eq!(update["version"], 2);
    assert_eq!(
        update["status_name"], "Прийнято",
        "in the customer's language (uk by default)"
    );

    // Someone else's order is not theirs to watch.
    let other = SseReader::open(&stack, "/api/orders/12345678/live", &customer).await;
    assert!(other.is_err());
    drop((feed, page));
    stack.teardown().await
}

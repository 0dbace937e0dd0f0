//! Status changes that are true, on the whole stack: a change is a request the persistence
//! worker decides once (a compare-and-set on the order's status version), and only what it
//! recorded is announced — to the customer in Telegram, on the customer's live page and on
//! the staff feed.
//!
//! 1. two managers move one order at once, to *accepted* and to *rejected*: one is
//!    recorded, the other refused with a reason, and nothing else is announced;
//! 2. a customer's cancellation in the bot racing a staff member's change, both ways round;
//! 3. the outcome's publish fails after the commit: it is published again from what was
//!    stored, under the same event id, and the customer hears of it once;
//! 4. a customer answers a price quote (the notifier's buttons name the quote; the web
//!    answers it), and a refused answer is told to them.
//!
//! Races are made deterministic by stopping the persistence worker while the requests are
//! made: both are answered 202 from the same order version, and the worker then decides
//! them in the order the broker holds them.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use bot_gateway::dialogue::Language;
use bot_gateway::texts::{Texts, key};
use bureau_accounts::Role;
use bureau_end_to_end::sse::SseReader;
use bureau_end_to_end::telegram_customer::place_order;
use bureau_end_to_end::web::{register_customer, staff};
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually};
use bureau_event_bus::EventBus;
use futures::StreamExt;
use lapin::options::QueueBindOptions;
use lapin::types::FieldTable;
use proto_events::topology::Consumer;
use proto_events::{
    Actor, CustomerRef, Envelope, Event, EventKind, OrderCreated, OrderStatus,
    OrderStatusChangeRequested, PriceQuoted,
};
use serde_json::{Value, json};
use sqlx::Row;
use telegram_double::DoubleConfig;
use uuid::Uuid;

fn bus(stack: &TestStack) -> Arc<EventBus> {
    bureau_platform::bus::event_bus(&stack.settings.broker, "status-requests-test")
}

/// Every status outcome published from now on (a transient queue of the test's own).
async fn watch_outcomes(
    bus: &Arc<EventBus>,
) -> anyhow::Result<impl futures::Stream<Item = Envelope> + Unpin> {
    let (bound, mut is_bound) = tokio::sync::watch::channel(false);
    let stream = bus.subscribe_live(
        &[
            EventKind::OrderStatusChanged,
            EventKind::OrderStatusChangeRefused,
        ],
        Some(bound),
    );
    tokio::time::timeout(DEADLINE, is_bound.wait_for(|bound| *bound))
        .await
        .context("the outcome watch bound in time")??;
    Ok(stream)
}

/// A web customer whose customer record also has Telegram chat `chat_id`, in English.
async fn web_customer_with_chat(
    stack: &TestStack,
    email: &str,
    chat_id: i64,
) -> anyhow::Result<String> {
    let token = register_customer(stack, email, "Olena Koval").await?;
    stack.telegram.user(chat_id);
    sqlx::query(
        "UPDATE customers SET telegram_user_id = ?, telegram_chat_id = ?, language = 'en' \
         WHERE web_account_id = (SELECT id FROM web_accounts WHERE email = ?)",
    )
    .bind(chat_id)
    .bind(chat_id)
    .bind(email)
    .execute(&stack.db)
    .await?;
    Ok(token)
}

/// Places a text order through the web; returns its id and number once it is in MySQL.
async fn place_web_order(stack: &TestStack, token: &str) -> anyhow::Result<(Uuid, String)> {
    let placed = stack
        .http
        .post(stack.web_url("/api/orders"))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().text("text", "Translate my diploma"))
        .send()
        .await?;
    anyhow::ensure!(placed.status() == 201, "placing: {}", placed.status());
    let number = placed.json::<Value>().await?["order_number"]
        .as_str()
        .context("order_number")?
        .to_owned();
    let order_id = recorded_order(stack, &number).await?;
    Ok((order_id, number))
}

async fn recorded_order(stack: &TestStack, number: &str) -> anyhow::Result<Uuid> {
    eventually("the order in MySQL", DEADLINE, || async {
        let row = sqlx::query("SELECT id FROM orders WHERE order_number = ?")
            .bind(number)
            .fetch_optional(&stack.db)
            .await
            .ok()??;
        Some(row.get("id"))
    })
    .await
}

/// A staff member asks for a change at `expected_version`; the 202 body.
async fn request(
    stack: &TestStack,
    token: &str,
    order_id: Uuid,
    to: &str,
    reason: Option<&str>,
    expected_version: u32,
) -> anyhow::Result<Value> {
    let answer = stack
        .http
        .post(stack.web_url(&format!("/api/staff/orders/{order_id}/status")))
        .bearer_auth(token)
        .json(&json!({"to": to, "reason": reason, "expected_version": expected_version}))
        .send()
        .await?;
    let status = answer.status();
    let body: Value = answer.json().await?;
    anyhow::ensure!(status == 202, "{to}: {status} {body}");
    assert_eq!(body["outcome"], "pending");
    Ok(body)
}

/// What became of a request, once it is decided.
async fn decided(stack: &TestStack, token: &str, accepted: &Value) -> anyhow::Result<Value> {
    let url = stack.web_url(accepted["request_url"].as_str().context("request_url")?);
    eventually("the request decided", DEADLINE, || async {
        let view: Value = stack
            .http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (view["outcome"] != "pending").then_some(view)
    })
    .await
}

/// The notifier's messages about order `number` in `chat_id`, in the order they came.
fn pushes(stack: &TestStack, chat_id: i64, number: &str) -> Vec<String> {
    let prefix = format!("Order №{number}:");
    stack
        .telegram
        .messages_to(chat_id)
        .iter()
        .filter_map(|m| m.text.clone())
        .filter(|text| text.starts_with(&prefix))
        .collect()
}

async fn wait_for_push(
    stack: &TestStack,
    chat_id: i64,
    text: &str,
) -> anyhow::Result<telegram_double::SentMessage> {
    stack
        .telegram
        .wait_for_message(chat_id, DEADLINE, |m| m.text.as_deref() == Some(text))
        .await
        .with_context(|| format!("the push {text:?}"))
}

/// Events of `order_id` from `watch` until `done` says enough were seen.
async fn outcomes_until(
    watch: &mut (impl futures::Stream<Item = Envelope> + Unpin),
    order_id: Uuid,
    done: impl Fn(&[Envelope]) -> bool,
) -> anyhow::Result<Vec<Envelope>> {
    let mut seen = Vec::new();
    while !done(&seen) {
        let next = tokio::time::timeout(DEADLINE, watch.next())
            .await
            .context("an outcome in time")?
            .context("the watch ended")?;
        if next.correlation_id == order_id {
            seen.push(next);
        }
    }
    Ok(seen)
}

fn changes(events: &[Envelope]) -> Vec<(OrderStatus, u32)> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Event::OrderStatusChanged(change) => Some((change.to, change.version)),
            _ => None,
        })
        .collect()
}

fn refusals(events: &[Envelope]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e.payload, Event::OrderStatusChangeRefused(_)))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_managers_at_once_one_change_is_recorded_the_other_refused() -> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let chat_id = 7101;
    let customer = web_customer_with_chat(&stack, "race@example.com", chat_id).await?;
    let maria = staff(&stack, "maria@example.com", Role::Manager).await?;
    let petro = staff(&stack, "petro@example.com", Role::Manager).await?;
    let (order_id, number) = place_web_order(&stack, &customer).await?;
    let bus = bus(&stack);
    let mut watch = watch_outcomes(&bus).await?;
    let mut page =
        SseReader::open(&stack, &format!("/api/orders/{number}/live"), &customer).await?;
    let (_, snapshot) = page.next().await?;
    assert_eq!(
        (snapshot["status"].as_str(), snapshot["version"].as_u64()),
        (Some("awaiting_confirmation"), Some(1))
    );
    let mut feed = SseReader::open(&stack, "/api/staff/feed", &maria).await?;
    assert_eq!(feed.next().await?.0, "ready");

    // Both managers look at version 1 and ask at once; both hear 202, nothing is decided yet.
    stack.stop_service(Service::PersistenceWorker).await?;
    let accept = request(&stack, &maria, order_id, "accepted", None, 1).await?;
    let reject = request(
        &stack,
        &petro,
        order_id,
        "rejected",
        Some("we cannot take it"),
        1,
    )
    .await?;
    stack.start_service(Service::PersistenceWorker).await?;

    let accepted = decided(&stack, &maria, &accept).await?;
    let rejected = decided(&stack, &petro, &reject).await?;
    assert_eq!(
        (accepted["outcome"].as_str(), accepted["version"].as_u64()),
        (Some("recorded"), Some(2))
    );
    assert_eq!(rejected["outcome"], "refused");
    assert_eq!(rejected["refusal_code"], "version_conflict");
    assert_eq!(
        rejected["refusal_reason"],
        format!(
            "Order №{number} changed since the request was made: it is now accepted (version 2), the request was made at version 1."
        )
    );
    assert_eq!(
        (
            rejected["current_status"].as_str(),
            rejected["current_version"].as_u64()
        ),
        (Some("accepted"), Some(2))
    );

    // The winner's change goes on as usual.
    let start = request(&stack, &maria, order_id, "in_progress", None, 2).await?;
    assert_eq!(decided(&stack, &maria, &start).await?["version"], 3);

    // Nothing that was not recorded was announced: on the bus, ...
    let outcomes = outcomes_until(&mut watch, order_id, |seen| {
        changes(seen).len() == 2 && refusals(seen) == 1
    })
    .await?;
    assert_eq!(
        changes(&outcomes),
        [(OrderStatus::Accepted, 2), (OrderStatus::InProgress, 3)]
    );
    // ... on the customer's page (the change after the refused one comes right after the
    // first: nothing between them), ...
    let (event, first) = page.next().await?;
    assert_eq!(
        (
            event.as_str(),
            first["status"].as_str(),
            first["version"].as_u64()
        ),
        ("status", Some("accepted"), Some(2))
    );
    let (event, second) = page.next().await?;
    assert_eq!(
        (
            event.as_str(),
            second["status"].as_str(),
            second["version"].as_u64()
        ),
        ("status", Some("in_progress"), Some(3))
    );
    // ... on the staff feed, where the refusal shows with its reason, ...
    let mut feed_events = Vec::new();
    while feed_events.len() < 3 {
        let (event, data) = feed.next().await?;
        if event.starts_with("order.status.") {
            feed_events.push((event, data));
        }
    }
    let kinds: Vec<(&str, Option<&str>)> = feed_events
        .iter()
        .map(|(e, d)| (e.as_str(), d["to"].as_str()))
        .collect();
    assert!(
        kinds.contains(&("order.status.changed", Some("accepted"))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("order.status.changed", Some("in_progress"))),
        "{kinds:?}"
    );
    let refused = feed_events
        .iter()
        .find(|(e, _)| e == "order.status.change_refused")
        .context("the refusal on the feed")?;
    assert_eq!(refused.1["request_id"], reject["request_id"]);
    assert_eq!(refused.1["code"], "version_conflict");
    assert_eq!(refused.1["current_status"], "accepted");
    // ... and in Telegram.
    wait_for_push(&stack, chat_id, &format!("Order №{number}: In progress")).await?;
    assert_eq!(
        pushes(&stack, chat_id, &number),
        [
            format!("Order №{number}: Accepted"),
            format!("Order №{number}: In progress")
        ]
    );
    let history: Vec<(u32, String)> = sqlx::query_as(
        "SELECT version, to_status FROM order_status_history WHERE order_id = ? ORDER BY version",
    )
    .bind(order_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(
        history,
        [
            (1, "awaiting_confirmation".into()),
            (2, "accepted".into()),
            (3, "in_progress".into())
        ]
    );

    drop((page, feed, watch));
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_in_the_bot_racing_a_staff_change_is_decided_once() -> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let texts = Texts::load();
    let chat_id = 7201;
    let user = stack.telegram.user_with(chat_id, "Olena", "en");
    let manager = staff(&stack, "manager@example.com", Role::Manager).await?;
    let bus = bus(&stack);
    let mut watch = watch_outcomes(&bus).await?;

    // Staff first: the order is accepted, the customer's cancellation refused.
    let number = place_order(
        &stack.telegram,
        &user,
        "Translate my diploma",
        &[],
        DEADLINE,
    )
    .await?;
    let order_id = recorded_order(&stack, &number).await?;
    let placed = stack
        .telegram
        .messages_to(chat_id)
        .into_iter()
        .rev()
        .find(|m| m.text.as_deref().is_some_and(|t| t.contains(&number)))
        .context("the bot's order message")?;
    stack.stop_service(Service::PersistenceWorker).await?;
    let accept = request(&stack, &manager, order_id, "accepted", None, 1).await?;
    user.press_button(placed.message_id, &format!("oy:{}:1", order_id.simple()));
    let requested = texts.format(Language::En, key::ORDER_CANCELLED, &[("number", &number)]);
    stack
        .telegram
        .wait_for_message(chat_id, DEADLINE, |m| m.text.as_deref() == Some(&requested))
        .await
        .context("the bot says the cancellation was requested, not done")?;
    stack.start_service(Service::PersistenceWorker).await?;
    assert_eq!(
        decided(&stack, &manager, &accept).await?["outcome"],
        "recorded"
    );
    wait_for_push(&stack, chat_id, &format!("Order №{number}: Accepted")).await?;
    wait_for_push(
        &stack,
        chat_id,
        &format!("Order №{number}: your cancellation could not be made; the order is now Accepted. Write to us if you still want to cancel it."),
    )
    .await?;
    let outcomes = outcomes_until(&mut watch, order_id, |seen| {
        changes(seen).len() == 1 && refusals(seen) == 1
    })
    .await?;
    assert_eq!(changes(&outcomes), [(OrderStatus::Accepted, 2)]);
    let Some(Event::OrderStatusChangeRefused(refusal)) = outcomes
        .iter()
        .map(|e| &e.payload)
        .find(|p| matches!(p, Event::OrderStatusChangeRefused(_)))
    else {
        unreachable!("counted above")
    };
    assert_eq!(
        (refusal.actor.clone(), refusal.to),
        (Actor::Customer, OrderStatus::Cancelled)
    );
    assert!(
        !pushes(&stack, chat_id, &number).contains(&format!("Order №{number}: Cancelled")),
        "a cancellation that was not made is never announced"
    );

    // The customer first: the order is cancelled, the staff member's change refused.
    let second = place_order(&stack.telegram, &user, "Print 20 copies", &[], DEADLINE).await?;
    let second_id = recorded_order(&stack, &second).await?;
    let placed = stack
        .telegram
        .messages_to(chat_id)
        .into_iter()
        .rev()
        .find(|m| m.text.as_deref().is_some_and(|t| t.contains(&second)))
        .context("the bot's second order message")?;
    stack.stop_service(Service::PersistenceWorker).await?;
    user.press_button(placed.message_id, &format!("oy:{}:1", second_id.simple()));
    let requested = texts.format(Language::En, key::ORDER_CANCELLED, &[("number", &second)]);
    stack
        .telegram
        .wait_for_message(chat_id, DEADLINE, |m| m.text.as_deref() == Some(&requested))
        .await?;
    let late = request(&stack, &manager, second_id, "accepted", None, 1).await?;
    stack.start_service(Service::PersistenceWorker).await?;
    let refused = decided(&stack, &manager, &late).await?;
    assert_eq!(
        (
            refused["outcome"].as_str(),
            refused["refusal_code"].as_str()
        ),
        (Some("refused"), Some("version_conflict"))
    );
    assert_eq!(refused["current_status"], "cancelled");
    wait_for_push(&stack, chat_id, &format!("Order №{second}: Cancelled")).await?;
    let outcomes = outcomes_until(&mut watch, second_id, |seen| {
        changes(seen).len() == 1 && refusals(seen) == 1
    })
    .await?;
    assert_eq!(changes(&outcomes), [(OrderStatus::Cancelled, 2)]);
    assert_eq!(
        pushes(&stack, chat_id, &second),
        [format!("Order №{second}: Cancelled")],
        "the staff member's refused change is not the customer's business"
    );

    drop(watch);
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_whose_publish_failed_after_the_commit_is_published_again_once()
-> anyhow::Result<()> {
    // One notice at a time, so that once a later push arrived every earlier copy was handled.
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.notifier.concurrency = 1;
    })
    .await?;
    // The web gateway's live subscription would take the outcome too; without it, and with
    // the notifier's queue unbound below, the broker has nowhere to route it.
    stack.stop_service(Service::WebGateway).await?;
    let bus = bus(&stack);
    let chat_id = 7301;
    stack.telegram.user(chat_id);
    let order_id = Uuid::now_v7();
    let number = proto_events::order_number::generate();
    bus.publish(&Envelope::new(
        "status-requests-test",
        order_id,
        OrderCreated {
            order_id,
            order_number: number.clone(),
            customer: CustomerRef::Telegram {
                user_id: chat_id,
                chat_id,
                display_name: "Olena".into(),
                username: None,
                phone: None,
                language: Some("en".into()),
            },
            service_code: None,
            text: "Translate my diploma".into(),
            file_count: 0,
            created_at: chrono::Utc::now(),
            items: Vec::new(),
            total: None,
        },
    ))
    .await?;
    recorded_order(&stack, &number).await?;

    let channel = bus.open_channel().await?;
    let notifier_queue = bus.topology().queue(Consumer::Notifier);
    let exchange = bus.topology().events_exchange();
    let changed_key = EventKind::OrderStatusChanged.routing_key();
    channel
        .queue_unbind(
            notifier_queue.as_str().into(),
            exchange.as_str().into(),
            changed_key.into(),
            FieldTable::default(),
        )
        .await?;

    let request_id = Uuid::now_v7();
    let asked = Envelope::new(
        "status-requests-test",
        order_id,
        OrderStatusChangeRequested {
            request_id,
            order_id,
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
        },
    );
    bus.publish(&asked).await?;
    // Committed: recorded in MySQL, while its announcement was refused by the broker.
    eventually("the change committed", DEADLINE, || async {
        let outcome: Option<String> =
            sqlx::query_scalar("SELECT outcome FROM status_change_requests WHERE request_id = ?")
                .bind(request_id)
                .fetch_optional(&stack.db)
                .await
                .ok()?;
        (outcome.as_deref() == Some("recorded")).then_some(())
    })
    .await?;
    assert!(
        pushes(&stack, chat_id, &number).is_empty(),
        "nothing announced yet"
    );

    // The route comes back; the request's retry finds its inbox row, reads the stored
    // outcome and publishes it.
    channel
        .queue_bind(
            notifier_queue.as_str().into(),
            exchange.as_str().into(),
            changed_key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    wait_for_push(&stack, chat_id, &format!("Order №{number}: Accepted")).await?;
    // The notifier journals what Telegram accepted right after the send.
    let announced_id: Uuid = eventually("the push journalled", DEADLINE, || async {
        sqlx::query_scalar("SELECT event_id FROM notifications_sent WHERE order_id = ?")
            .bind(order_id)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;

    // Delivered once more (a redelivery after a crash looks the same): the very same event.
    let mut watch = watch_outcomes(&bus).await?;
    bus.publish(&asked).await?;
    let again = outcomes_until(&mut watch, order_id, |seen| !seen.is_empty()).await?;
    assert_eq!(
        again[0].event_id, announced_id,
        "the same outcome, by event id"
    );
    let Event::OrderStatusChanged(change) = &again[0].payload else {
        return Err(anyhow!("the recorded change: {:?}", again[0]));
    };
    assert_eq!(
        (change.to, change.version, change.request_id),
        (OrderStatus::Accepted, 2, Some(request_id))
    );

    let next = Envelope::new(
        "status-requests-test",
        order_id,
        OrderStatusChangeRequested {
            request_id: Uuid::now_v7(),
            expected_version: 2,
            from: OrderStatus::Accepted,
            to: OrderStatus::InProgress,
            requested_at: chrono::Utc::now(),
            ..match &asked.payload {
                Event::OrderStatusChangeRequested(r) => r.clone(),
                _ => return Err(anyhow!("a request")),
            }
        },
    );
    bus.publish(&next).await?;
    wait_for_push(&stack, chat_id, &format!("Order №{number}: In progress")).await?;
    assert_eq!(
        pushes(&stack, chat_id, &number),
        [
            format!("Order №{number}: Accepted"),
            format!("Order №{number}: In progress")
        ],
        "told once"
    );
    let versions: Vec<u32> = sqlx::query_scalar(
        "SELECT version FROM order_status_history WHERE order_id = ? ORDER BY version",
    )
    .bind(order_id)
    .fetch_all(&stack.db)
    .await?;
    assert_eq!(versions, [1, 2, 3], "recorded once");

    drop(watch);
    let _ = channel.close(200, "done".into()).await;
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_answers_a_price_quote() -> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let chat_id = 7401;
    let customer = web_customer_with_chat(&stack, "quote@example.com", chat_id).await?;
    let manager = staff(&stack, "manager@example.com", Role::Manager).await?;
    let bus = bus(&stack);

    // Staff quote a price (the back office's quote page publishes PriceQuoted and moves the
    // order to `quoted`); the push asks for an answer with buttons naming that quote.
    let quote = async |order_id: Uuid, number: &str| -> anyhow::Result<Uuid> {
        let quoted = request(&stack, &manager, order_id, "quoted", None, 1).await?;
        assert_eq!(
            decided(&stack, &manager, &quoted).await?["outcome"],
            "recorded"
        );
        let priced = Envelope::new(
            "status-requests-test",
            order_id,
            PriceQuoted {
                order_id,
                order_number: number.to_owned(),
                amount_minor: 125_000,
                currency: "UAH".into(),
                note: None,
                valid_until: None,
            },
        );
        bus.publish(&priced).await?;
        let push = stack
            .telegram
            .wait_for_message(chat_id, DEADLINE, |m| {
                m.text.as_deref().is_some_and(|t| {
                    t.starts_with(&format!("Order №{number}: the price is 1250.00 UAH"))
                })
            })
            .await?;
        let buttons = push.inline_buttons();
        assert_eq!(
            buttons,
            [
                (
                    "Accept".to_owned(),
                    format!("qa:{}", priced.event_id.simple())
                ),
                (
                    "Decline".to_owned(),
                    format!("qd:{}", priced.event_id.simple())
                ),
                (
                    "Open order".to_owned(),
                    format!("order:{}", order_id.simple())
                ),
            ]
        );
        eventually("the quote recorded", DEADLINE, || async {
            let found: Option<Uuid> =
                sqlx::query_scalar("SELECT event_id FROM order_quotes WHERE order_id = ?")
                    .bind(order_id)
                    .fetch_optional(&stack.db)
                    .await
                    .ok()?;
            found
        })
        .await
    };
    let answer = async |number: &str, verb: &str, quote_id: Uuid| -> anyhow::Result<Value> {
        let answered = stack
            .http
            .post(stack.web_url(&format!("/api/orders/{number}/quote/{verb}")))
            .bearer_auth(&customer)
            .json(&json!({"quote_id": quote_id}))
            .send()
            .await?;
        anyhow::ensure!(answered.status() == 202, "{verb}: {}", answered.status());
        let body: Value = answered.json().await?;
        decided(&stack, &customer, &body).await
    };

    let (accepted_id, accepted) = place_web_order(&stack, &customer).await?;
    let quote_id = quote(accepted_id, &accepted).await?;
    let outcome = answer(&accepted, "accept", quote_id).await?;
    assert_eq!(
        (outcome["outcome"].as_str(), outcome["version"].as_u64()),
        (Some("recorded"), Some(3))
    );
    wait_for_push(&stack, chat_id, &format!("Order №{accepted}: Accepted")).await?;

    let (declined_id, declined) = place_web_order(&stack, &customer).await?;
    let quote_id = quote(declined_id, &declined).await?;
    assert_eq!(
        answer(&declined, "decline", quote_id).await?["outcome"],
        "recorded"
    );
    wait_for_push(&stack, chat_id, &format!("Order №{declined}: Cancelled")).await?;
    let reason: Option<String> = sqlx::query_scalar(
        "SELECT reason FROM order_status_history WHERE order_id = ? AND version = 3",
    )
    .bind(declined_id)
    .fetch_one(&stack.db)
    .await?;
    assert_eq!(reason.as_deref(), Some("quote declined"));

    // A price past its last moment: the push says until when; the web answer is refused at
    // once, and an acceptance that reaches the persistence worker anyway (from the bot, or
    // sent before the price expired) is refused there, the customer told it expired.
    let (expired_id, expired) = place_web_order(&stack, &customer).await?;
    let quoted = request(&stack, &manager, expired_id, "quoted", None, 1).await?;
    assert_eq!(
        decided(&stack, &manager, &quoted).await?["outcome"],
        "recorded"
    );
    let until = chrono::Utc::now() - chrono::Duration::hours(1);
    let priced = Envelope::new(
        "status-requests-test",
        expired_id,
        PriceQuoted {
            order_id: expired_id,
            order_number: expired.clone(),
            amount_minor: 90_000,
            currency: "UAH".into(),
            note: None,
            valid_until: Some(until),
        },
    );
    bus.publish(&priced).await?;
    stack
        .telegram
        .wait_for_message(chat_id, DEADLINE, |m| {
            m.text.as_deref().is_some_and(|t| {
                t.starts_with(&format!("Order №{expired}: the price is 900.00 UAH"))
                    && t.contains(&format!(
                        "The price is valid until {}.",
                        until.format("%d.%m.%Y")
                    ))
            })
        })
        .await?;
    eventually("the expiring quote recorded", DEADLINE, || async {
        sqlx::query_scalar::<_, Uuid>("SELECT event_id FROM order_quotes WHERE order_id = ?")
            .bind(expired_id)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;
    let web = stack
        .http
        .post(stack.web_url(&format!("/api/orders/{expired}/quote/accept")))
        .bearer_auth(&customer)
        .json(&json!({"quote_id": priced.event_id}))
        .send()
        .await?;
    assert_eq!(web.status(), 409);
    assert_eq!(web.json::<Value>().await?["error"]["code"], "quote_expired");
    let late = OrderStatusChangeRequested {
        request_id: Uuid::now_v7(),
        order_id: expired_id,
        order_number: expired.clone(),
        expected_version: 2,
        from: OrderStatus::Quoted,
        to: OrderStatus::Accepted,
        reason: None,
        actor: Actor::Customer,
        quote_id: Some(priced.event_id),
        requested_at: chrono::Utc::now(),
    };
    let late_id = late.request_id;
    bus.publish(&Envelope::new("status-requests-test", expired_id, late))
        .await?;
    let code: String = eventually("the late acceptance refused", DEADLINE, || async {
        sqlx::query_scalar(
            "SELECT refusal_code FROM status_change_requests WHERE request_id = ? AND outcome = 'refused'",
        )
        .bind(late_id)
        .fetch_optional(&stack.db)
        .await
        .ok()?
    })
    .await?;
    assert_eq!(code, "quote_expired");
    stack
        .telegram
        .wait_for_message(chat_id, DEADLINE, |m| {
            m.text.as_deref().is_some_and(|t| {
                t.starts_with(&format!("Order №{expired}: this price has expired"))
            })
        })
        .await?;

    // Staff reject the order while the customer accepts its price, both at version 2:
    // staff come first, so the customer's answer is refused and they are told.
    let (raced_id, raced) = place_web_order(&stack, &customer).await?;
    let quote_id = quote(raced_id, &raced).await?;
    let mut page = SseReader::open(&stack, &format!("/api/orders/{raced}/live"), &customer).await?;
    assert_eq!(page.next().await?.1["status"], "quoted");
    stack.stop_service(Service::PersistenceWorker).await?;
    request(
        &stack,
        &manager,
        raced_id,
        "rejected",
        Some("the translator fell ill"),
        2,
    )
    .await?;
    let answered = stack
        .http
        .post(stack.web_url(&format!("/api/orders/{raced}/quote/accept")))
        .bearer_auth(&customer)
        .json(&json!({"quote_id": quote_id}))
        .send()
        .await?;
    anyhow::ensure!(answered.status() == 202, "accept: {}", answered.status());
    let answered: Value = answered.json().await?;
    stack.start_service(Service::PersistenceWorker).await?;
    let refused = decided(&stack, &customer, &answered).await?;
    assert_eq!(
        (
            refused["outcome"].as_str(),
            refused["current_status"].as_str()
        ),
        (Some("refused"), Some("rejected"))
    );
    assert_eq!(
        refused["actor_account_id"],
        Value::Null,
        "who in the staff is not shown"
    );
    wait_for_push(
        &stack,
        chat_id,
        &format!("Order №{raced}: your acceptance of the price could not be recorded; the order is now Rejected."),
    )
    .await?;
    let (event, data) = page.next().await?;
    assert_eq!(
        (event.as_str(), data["status"].as_str()),
        ("status", Some("rejected"))
    );
    let (event, data) = page.next().await?;
    assert_eq!(event, "refused");
    assert_eq!(data["request_id"], answered["request_id"]);
    assert_eq!(
        (
            data["to"].as_str(),
            data["status"].as_str(),
            data["code"].as_str()
        ),
        (Some("accepted"), Some("rejected"), Some("version_conflict"))
    );
    let late = stack
        .http
        .post(stack.web_url(&format!("/api/orders/{raced}/quote/accept")))
        .bearer_auth(&customer)
        .send()
        .await?;
    assert_eq!(late.status(), 409, "no price waits for an answer any more");

    drop(page);
    bus.close().await;
    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_an_order_revokes_its_links_in_the_same_decision() -> anyhow::Result<()> {
    use bureau_platform::links::{self, LinkPurpose, LinkSigner, LinkState};

    let stack = TestStack::start().await?;
    let customer = register_customer(&stack, "links@example.com", "Olena Koval").await?;
    let maria = staff(&stack, "maria@example.com", Role::Manager).await?;
    let (order_id, _) = place_web_order(&stack, &customer).await?;
    let upload = links::issue_upload_link(&stack.db, &stack.settings, order_id)
        .await?
        .context("links on")?;
    let download = links::issue_download_link(&stack.db, &stack.settings, order_id, Uuid::now_v7())
        .await?
        .context("links on")?;
    let signer = LinkSigner::new(&stack.settings.links.secret).context("signer")?;
    let state = |link: String, purpose| {
        let signer = signer.clone();
        let db = stack.db.clone();
        async move {
            let token = link.rsplit('/').next().unwrap_or_default().to_owned();
            let verified = signer.verify(&token, purpose).expect("a valid token");
            links::link_state(&db, &verified, purpose).await
        }
    };
    assert!(matches!(
        state(upload.clone(), LinkPurpose::Upload).await?,
        LinkState::Active { .. }
    ));

    let rejected = request(&stack, &maria, order_id, "rejected", Some("no"), 1).await?;
    assert_eq!(
        decided(&stack, &maria, &rejected).await?["outcome"],
        "recorded"
    );
    assert_eq!(
        state(upload.clone(), LinkPurpose::Upload).await?,
        LinkState::Revoked
    );
    assert_eq!(
        state(download, LinkPurpose::Download).await?,
        LinkState::Revoked
    );
    let path = upload
        .split_once("/u/")
        .map(|(_, token)| format!("/u/{token}"))
        .context("path")?;
    let page = stack.http.get(stack.web_url(&path)).send().await?;
    assert_eq!(page.status(), 410);

    stack.teardown().await
}

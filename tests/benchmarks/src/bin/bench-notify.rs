//! Notifier throughput against Telegram's limits: N status-change notifications to C chats
//! through the Telegram double enforcing the cloud Bot API's limits (1/s per chat with a
//! burst of 3, 30/s per bot with a burst of 30), with R notifier replicas sharing the pace.
//!
//! ```text
//! cargo run --release -p bureau-benchmarks --bin bench-notify -- --notifications 10000 --chats 2000
//! ```
//!
//! The baseline is Telegram's ceiling itself (30 messages a second for one bot): the
//! figure reported is delivered messages per second as a ratio to it (goal >= 0.95), with
//! the 429 answers received (goal 0) and per-chat order violations (goal 0).
//!
//! Each chat has one order whose status changes are published round-robin over the chats
//! (every chat's version 2, then every chat's version 3, …), as when many customers' orders
//! move at once. A change whose newer version was already sent is coalesced (not sent);
//! the count is reported. Customers and orders are inserted directly into the database.

use std::time::{Duration, Instant};

use anyhow::Context;
use bureau_end_to_end::TestStack;
use clap::Parser;
use proto_events::{Actor, Envelope, OrderStatus, OrderStatusChanged};
use telegram_double::DoubleConfig;
use uuid::Uuid;

/// Telegram's documented ceiling for one bot, messages per second.
const TELEGRAM_CEILING: f64 = 30.0;

#[derive(Parser, Debug)]
struct Args {
    /// Status-change notifications to publish in all.
    #[arg(long, default_value_t = 10_000)]
    notifications: usize,
    /// Distinct chats (one customer and one order each).
    #[arg(long, default_value_t = 2_000)]
    chats: usize,
    /// Notifier processes (in-process replicas competing on one queue).
    #[arg(long, default_value_t = 2)]
    replicas: usize,
    /// Notices in flight per replica.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The shared pace, messages per second for the whole bot.
    #[arg(long, default_value_t = 29.0)]
    messages_per_second: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.chats > 0 && args.notifications >= args.chats,
        "need at least one notification per chat"
    );
    let per_chat = args.notifications.div_ceil(args.chats);
    let (concurrency, pace) = (args.concurrency, args.messages_per_second);
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.notifier.concurrency = concurrency;
        settings.notifier.messages_per_second = pace;
        settings.database.max_connections = (concurrency as u32) * 2 + 4;
        settings.broker.prefetch = (concurrency as u16) * 2;
    })
    .await?;
    for _ in 1..args.replicas {
        stack.start_extra_notifier().await?;
    }

    eprintln!("seeding {} chats …", args.chats);
    let orders = seed(&stack, args.chats).await?;
    let mut envelopes = Vec::with_capacity(args.notifications);
    'rounds: for round in 0..per_chat {
        for (order_id, number) in &orders {
            if envelopes.len() == args.notifications {
                break 'rounds;
            }
            let version = 2 + round as u32;
            let change = OrderStatusChanged {
                order_id: *order_id,
                order_number: number.clone(),
                from: OrderStatus::Accepted,
                to: if round % 2 == 0 {
                    OrderStatus::InProgress
                } else {
                    OrderStatus::Ready
                },
                version,
                reason: Some(format!("v{version}")),
                actor: Actor::System,
                changed_at: chrono::Utc::now(),
                // As the persistence worker publishes them: recorded, for a request.
                request_id: Some(uuid::Uuid::now_v7()),
            };
            envelopes.push(Envelope::new("bench-notify", *order_id, change));
        }
    }
    let last_version: Vec<u32> = (0..args.chats)
        .map(|chat| {
            let sent_to_chat = (0..args.notifications)
                .filter(|i| i % args.chats == chat)
                .count();
            1 + sent_to_chat as u32
        })
        .collect();

    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "bench-notify");
    let started = Instant::now();
    for batch in envelopes.chunks(500) {
        bus.publish_all(batch).await?;
    }
    eprintln!(
        "published {} events in {:?}; waiting for delivery …",
        envelopes.len(),
        started.elapsed()
    );

    // Done when every chat got its last version (a newest version is never coalesced).
    let deadline =
        Duration::from_secs_f64(args.notifications as f64 / (TELEGRAM_CEILING * 0.5) + 120.0);
    bureau_test_support::eventually(
        "every chat's last notice",
        deadline.saturating_sub(started.elapsed()),
        || async {
            (0..args.chats).all(|chat| {
                let messages = stack.telegram.messages_to(chat_id(chat));
                messages.last().and_then(|m| version_in(m.body())) == Some(last_version[chat])
            })
        },
    )
    .await?;

    let mut delivered = 0usize;
    let mut violations = 0usize;
    let mut first: Option<Instant> = None;
    let mut last: Option<Instant> = None;
    for chat in 0..args.chats {
        let messages = stack.telegram.messages_to(chat_id(chat));
        delivered += messages.len();
        let versions: Vec<u32> = messages
            .iter()
            .filter_map(|m| version_in(m.body()))
            .collect();
        violations += versions
            .windows(2)
            .filter(|pair| pair[0] >= pair[1])
            .count();
        for message in &messages {
            first = Some(first.map_or(message.at, |f| f.min(message.at)));
            last = Some(last.map_or(message.at, |l| l.max(message.at)));
        }
    }
    let stats = stack.telegram.stats();
    let span = match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first),
        _ => Duration::ZERO,
    };
    let rate = if span.is_zero() {
        0.0
    } else {
        (delivered.saturating_sub(1)) as f64 / span.as_secs_f64()
    };
    println!(
        "bench-notify: {} notifications, {} chats, {} replica(s) x {} in flight, pace {} msg/s",
        args.notifications, args.chats, args.replicas, args.concurrency, args.messages_per_second
    );
    println!(
        "  delivered            {delivered} ({} coalesced into a newer status)",
        args.notifications - delivered.min(args.notifications)
    );
    println!("  first to last send   {:.1} s", span.as_secs_f64());
    println!("  delivered per second {rate:.2}");
    println!("  ratio to 30/s        {:.3}", rate / TELEGRAM_CEILING);
    println!("  429 answers          {}", stats.too_many_requests);
    println!("  order violations     {violations}");
    println!(
        "  max in 1 s, one chat {}",
        (0..args.chats)
            .map(|c| stats.max_sends_in_window(chat_id(c), Duration::from_secs(1)))
            .max()
            .unwrap_or(0)
    );
    bus.close().await;
    stack.teardown().await
}

fn chat_id(chat: usize) -> i64 {
    1_000_000 + chat as i64
}

/// The status version a benchmark message announces: the reason line is `Reason: v{n}`.
fn version_in(text: &str) -> Option<u32> {
    text.rsplit_once("v")?.1.parse().ok()
}

/// One customer with one order (status version 1) per chat, inserted in bulk.
async fn seed(stack: &TestStack, chats: usize) -> anyhow::Result<Vec<(Uuid, String)>> {
    let mut orders = Vec::with_capacity(chats);
    for start in (0..chats).step_by(500) {
        let end = (start + 500).min(chats);
        let mut customers = sqlx::QueryBuilder::new(
            "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at) ",
        );
        let ids: Vec<(Uuid, Uuid, String)> = (start..end)
            .map(|_| {
                (
                    Uuid::now_v7(),
                    Uuid::now_v7(),
                    proto_events::order_number::generate(),
                )
            })
            .collect();
        customers.push_values(ids.iter().enumerate(), |mut row, (i, (customer, _, _))| {
            let chat = chat_id(start + i);
            row.push_bind(*customer)
                .push_bind("Bench Customer")
                .push_bind(if (start + i) % 2 == 0 { "en" } else { "uk" })
                .push_bind(chat)
                .push_bind(chat)
                .push("UTC_TIMESTAMP(6)")
                .push("UTC_TIMESTAMP(6)");
        });
        customers
            .build()
            .execute(&stack.db)
            .await
            .context("customers")?;
        let mut rows = sqlx::QueryBuilder::new(
            "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files, created_at, updated_at) ",
        );
        rows.push_values(ids.iter(), |mut row, (customer, order, number)| {
            row.push_bind(*order)
                .push_bind(number.clone())
                .push_bind(*customer)
                .push_bind("telegram")
                .push_bind("bench")
                .push_bind("accepted")
                .push_bind(1u32)
                .push_bind(0u32)
                .push("UTC_TIMESTAMP(6)")
                .push("UTC_TIMESTAMP(6)");
        });
        rows.build().execute(&stack.db).await.context("orders")?;
        for (i, (_, order, number)) in ids.into_iter().enumerate() {
            stack.telegram.user(chat_id(start + i));
            orders.push((order, number));
        }
    }
    Ok(orders)
}

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

use bureau_benchmarks::pushes::{chat_id, seed_orders, status_changes, version_in};
use bureau_end_to_end::TestStack;
use clap::Parser;
use telegram_double::DoubleConfig;

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
    let (concurrency, pace) = (args.concurrency, args.messages_per_second);
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.notifier.concurrency = concurrency;
        settings.telegram.messages_per_second = pace;
        settings.database.max_connections = (concurrency as u32) * 2 + 4;
        settings.broker.prefetch = (concurrency as u16) * 2;
    })
    .await?;
    for _ in 1..args.replicas {
        stack.start_extra_notifier().await?;
    }

    eprintln!("seeding {} chats …", args.chats);
    let orders = seed_orders(&stack, args.chats).await?;
    let envelopes = status_changes(&orders, args.notifications);
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

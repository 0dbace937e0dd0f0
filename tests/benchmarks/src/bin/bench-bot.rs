//! Bot gateway throughput and latency: many simulated Telegram customers, each running the
//! same conversation (start, new order, a service, text, document, photo, text, `/status`,
//! Confirm: nine updates, answered by the order's card and its edits) as fast as the bot
//! answers, through the Telegram double in webhook mode with Telegram's limits lifted
//! (`DoubleConfig::without_limits()`, and the gateway's own pacing off:
//! `telegram.flood_limits = false`).
//!
//! ```text
//! cargo run --release -p bureau-benchmarks --bin bench-bot -- --users 200 --replicas 1
//! cargo run --release -p bureau-benchmarks --bin bench-bot -- --limits --users 100
//! cargo run --release -p bureau-benchmarks --bin bench-bot -- --limits --users 100 --pushes 10000
//! ```
//!
//! With `--limits`, the double enforces Telegram's limits (30/s per bot, 1/s per chat with a
//! burst of 3) and the gateway paces itself through the token's shared pace; the script has
//! no `/status` (eight updates, one order). There is no echo baseline then: the ceiling is
//! Telegram's, 30 sending calls a second, and orders/s is reported as a ratio to the orders/s
//! that ceiling allows for the bot messages an order costs (and for messages and edits
//! together, which the double charges alike). With `--pushes N`, N status pushes for other
//! customers are published just before the customers start, and the notifier replicas send
//! them through the same pace: the report gives the bot's total sends per second while the
//! customers order (≤ 30, ratio to 30), the most in any one second, 429s, and the customers'
//! reply times, which must not queue behind the pushes.
//!
//! A small proxy between the double and the gateway(s) stamps each delivery (and spreads
//! deliveries round-robin over the replicas); the double stamps each reply. Handling time is
//! reply stamp minus delivery stamp; the report gives updates per second over the whole run
//! and p50/p99 handling times.
//!
//! The baseline, measured first in the same run with the same users and proxy, is a raw
//! echo bot: it answers every update with one `sendMessage`, touching no database or broker.
//! Its figures are the ceiling the double, the proxy and the HTTP round trips allow; the
//! gateway's are reported as ratios to them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bureau_benchmarks::pushes::{seed_orders, status_changes};
use bureau_end_to_end::{Service, TestStack};
use bureau_platform::Secret;
use bureau_platform::settings::TelegramMode;
use clap::Parser;
use serde_json::{Value, json};
use telegram_double::{DoubleConfig, SentMessage, SimUser, TelegramDouble};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "bench-bot-webhook-secret";

/// Telegram's documented ceiling for one bot, sending calls per second.
const TELEGRAM_CEILING: f64 = 30.0;

#[derive(Parser, Debug)]
struct Args {
    /// Simulated customers, each placing one order.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Bot gateway replicas behind the round-robin proxy.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Telegram's limits on, in the double and in the gateway's pace.
    #[arg(long)]
    limits: bool,
    /// Status pushes to other customers going out at once (needs `--limits`).
    #[arg(long, default_value_t = 0)]
    pushes: usize,
    /// Chats the pushes go to.
    #[arg(long, default_value_t = 2_000)]
    push_chats: usize,
    /// Notifier replicas sending the pushes.
    #[arg(long, default_value_t = 2)]
    notifiers: usize,
    /// Notices in flight per notifier replica.
    #[arg(long, default_value_t = 16)]
    notifier_concurrency: usize,
    /// The bot's pace, sending calls per second (`telegram.messages_per_second`).
    #[arg(long, default_value_t = 29.0)]
    messages_per_second: f64,
}

/// The updates one customer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Script {
    /// The raw echo bot: any update, one answer.
    Echo,
    /// The gateway: an order with a `/status` in the middle (nine updates).
    WithStatus,
    /// The gateway: an order only (eight updates).
    OrderOnly,
}

impl Script {
    fn updates(self) -> usize {
        match self {
            Script::Echo | Script::WithStatus => 9,
            Script::OrderOnly => 8,
        }
    }
}

/// The proxy in front of the bot: forwards each delivery round-robin, stamping it per chat.
struct Proxy {
    backends: Vec<SocketAddr>,
    next: std::sync::atomic::AtomicUsize,
    client: reqwest::Client,
    deliveries: Mutex<HashMap<i64, Vec<Instant>>>,
}

fn chat_of(update: &Value) -> Option<i64> {
    update["message"]["chat"]["id"]
        .as_i64()
        .or_else(|| update["callback_query"]["from"]["id"].as_i64())
}

async fn forward(State(proxy): State<Arc<Proxy>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let received = Instant::now();
    let chat = serde_json::from_slice::<Value>(&body)
        .ok()
        .as_ref()
        .and_then(chat_of);
    // Stamped before forwarding: the bot may answer before its HTTP response comes back.
    if let Some(chat) = chat {
        proxy
            .deliveries
            .lock()
            .expect("not poisoned")
            .entry(chat)
            .or_default()
            .push(received);
    }
    let index = proxy
        .next
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        % proxy.backends.len();
    let mut request = proxy
        .client
        .post(format!("http://{}/telegram/webhook", proxy.backends[index]))
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = headers.get(telegram_double::SECRET_TOKEN_HEADER) {
        request = request.header(telegram_double::SECRET_TOKEN_HEADER, secret.as_bytes());
    }
    let status = match request.send().await {
        Ok(response) if response.status().is_success() => return StatusCode::OK,
        Ok(response) => {
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        Err(_) => StatusCode::BAD_GATEWAY,
    };
    // Not delivered: the double will deliver it again, and that delivery counts.
    if let Some(chat) = chat
        && let Some(stamps) = proxy
            .deliveries
            .lock()
            .expect("not poisoned")
            .get_mut(&chat)
    {
        stamps.retain(|stamp| *stamp != received);
    }
    status
}

/// Serves `router` on a free port until `stop`; returns its address.
async fn serve(router: axum::Router, stop: CancellationToken) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    Ok(addr)
}

async fn start_proxy(
    backends: Vec<SocketAddr>,
    stop: CancellationToken,
) -> anyhow::Result<(Arc<Proxy>, String)> {
    let proxy = Arc::new(Proxy {
        backends,
        next: Default::default(),
        client: reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(256)
            .build()?,
        deliveries: Mutex::new(HashMap::new()),
    });
    let router = axum::Router::new()
        .route("/telegram/webhook", axum::routing::post(forward))
        .with_state(proxy.clone());
    let addr = serve(router, stop).await?;
    Ok((proxy, format!("http://{addr}/telegram/webhook")))
}

/// The raw baseline: one `sendMessage` per update, nothing else.
async fn echo(State((client, api)): State<(reqwest::Client, String)>, body: Bytes) -> StatusCode {
    let Some(chat) = serde_json::from_slice::<Value>(&body)
        .ok()
        .as_ref()
        .and_then(chat_of)
    else {
        return StatusCode::OK;
    };
    let sent = client
        .post(format!("{api}/sendMessage"))
        .json(&json!({"chat_id": chat, "text": "echo"}))
        .send()
        .await;
    if sent.is_err() {
        eprintln!("echo: sendMessage failed");
    }
    StatusCode::OK
}

/// One customer's conversation, each update sent once the previous one is answered.
async fn converse(double: &TelegramDouble, user: &SimUser, script: Script) -> anyhow::Result<()> {
    let chat = user.chat_id();
    let echo_only = script == Script::Echo;
    let mut seen = 0usize;
    // Waits for the chat's next log entry (a message or an edit).
    let next = |seen: &mut usize| {
        let skip = *seen;
        *seen += 1;
        async move {
            let last = skip
                .checked_sub(1)
                .and_then(|i| double.messages_to(chat).get(i).map(|m| m.at));
            double
                .wait_for_message(chat, WAIT, |m| last.is_none_or(|last| m.at > last))
                .await
        }
    };
    let press = |message: &SentMessage, prefix: &str| -> anyhow::Result<()> {
        let data = if echo_only {
            "x".to_owned()
        } else {
            message
                .inline_buttons()
                .into_iter()
                .map(|(_, data)| data)
                .find(|data| data.starts_with(prefix))
                .ok_or_else(|| anyhow!("no {prefix} button under {:?}", message.body()))?
        };
        user.press_button(message.message_id, &data);
        Ok(())
    };
    user.send_text("/start");
    next(&mut seen).await?;
    user.send_text("📝 Нове замовлення");
    let catalogue = next(&mut seen).await?;
    press(&catalogue, "co:")?;
    next(&mut seen).await?;
    let card = if script == Script::OrderOnly {
        // As a customer does who has it all at hand: two texts, a document and a photo in a
        // burst, answered by one edit of the card (the bot waits for a quiet moment).
        user.send_text("Переклад договору англійською, 12 сторінок");
        user.send_document(
            "contract.pdf",
            "application/pdf",
            b"%PDF-1.7 contract".to_vec(),
            Some("основний текст"),
        );
        user.send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], Some("печатка"));
        user.send_text("Потрібно до п'ятниці");
        loop {
            let card = next(&mut seen).await?;
            if card.body().contains("Потрібно до п'ятниці") {
                break card;
            }
        }
    } else {
        user.send_text("Переклад договору англійською, 12 сторінок");
        next(&mut seen).await?;
        user.send_document(
            "contract.pdf",
            "application/pdf",
            b"%PDF-1.7 contract".to_vec(),
            Some("основний текст"),
        );
        next(&mut seen).await?;
        user.send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], Some("печатка"));
        next(&mut seen).await?;
        user.send_text("Потрібно до п'ятниці");
        next(&mut seen).await?
    };
    if script != Script::OrderOnly {
        user.send_text("/status 12345678");
        next(&mut seen).await?;
    }
    press(&card, "confirm:")?;
    if echo_only {
        next(&mut seen).await?;
        return Ok(());
    }
    let since = double.messages_to(chat).last().map(|m| m.at);
    double
        .wait_for_message(chat, WAIT, |m| {
            since.is_none_or(|since| m.at > since) && m.body().contains('№')
        })
        .await
        .context("the order number")?;
    Ok(())
}

struct Figures {
    updates_per_second: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// The third update ("Other" pressed), answered by editing the order's card.
    edit_p50: Duration,
    edit_p99: Duration,
    /// When the first update was sent.
    started: Instant,
    /// Conversations that did not end with the order number.
    unfinished: usize,
    /// Updates delivered more than once (the first delivery timed out).
    redelivered: usize,
}

/// The `q` quantile of sorted `times`.
fn quantile(times: &[Duration], q: f64) -> Duration {
    times[((times.len() as f64 * q).ceil() as usize)
        .saturating_sub(1)
        .min(times.len() - 1)]
}

/// Runs every user's conversation at once and measures.
async fn run(
    double: &TelegramDouble,
    proxy: &Proxy,
    users: &[SimUser],
    script: Script,
) -> anyhow::Result<Figures> {
    let started = Instant::now();
    let conversations = users.iter().map(|user| converse(double, user, script));
    let outcomes = futures::future::join_all(conversations).await;
    let elapsed = started.elapsed();
    // With limits on, a conversation that did not end is counted, not fatal.
    let mut unfinished = 0;
    for outcome in outcomes {
        if let Err(error) = outcome {
            anyhow::ensure!(script == Script::OrderOnly, error);
            eprintln!("a conversation did not end: {error:#}");
            unfinished += 1;
        }
    }
    let mut redelivered = 0;
    let deliveries = proxy.deliveries.lock().expect("not poisoned").clone();
    let updates = script.updates();
    let mut times = Vec::with_capacity(users.len() * updates);
    let mut edits = Vec::with_capacity(users.len());
    for user in users {
        let replies = double.messages_to(user.chat_id());
        let delivered = deliveries
            .get(&user.chat_id())
            .context("deliveries for every user")?;
        // A delivery Telegram gave up waiting for (10 s in the double) comes again.
        redelivered += delivered.len().saturating_sub(updates);
        anyhow::ensure!(
            script == Script::OrderOnly || delivered.len() == updates,
            "chat {}: {} deliveries",
            user.chat_id(),
            delivered.len()
        );
        if script == Script::OrderOnly {
            // A burst gets one reply: each reply is timed from the last delivery before it.
            for (step, reply) in replies.iter().enumerate() {
                let Some(delivery) = delivered.iter().filter(|at| **at <= reply.at).max() else {
                    continue;
                };
                let time = reply.at.saturating_duration_since(*delivery);
                times.push(time);
                if step == 2 {
                    edits.push(time);
                }
            }
            continue;
        }
        for (step, (delivery, reply)) in delivered.iter().zip(&replies).enumerate() {
            let time = reply.at.saturating_duration_since(*delivery);
            times.push(time);
            if step == 2 {
                edits.push(time);
            }
        }
    }
    times.sort();
    edits.sort();
    Ok(Figures {
        updates_per_second: (users.len() * updates) as f64 / elapsed.as_secs_f64(),
        p50: quantile(&times, 0.50),
        p99: quantile(&times, 0.99),
        max: *times.last().context("some times")?,
        edit_p50: quantile(&edits, 0.50),
        edit_p99: quantile(&edits, 0.99),
        started,
        unfinished,
        redelivered,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.pushes == 0 || args.limits,
        "--pushes measures the shared pace: it needs --limits"
    );
    if args.limits {
        limited(&args).await
    } else {
        unlimited(&args).await
    }
}

/// `replicas` bot gateways in webhook mode behind a new round-robin proxy.
async fn gateway_replicas(
    stack: &mut TestStack,
    replicas: usize,
    stop: &CancellationToken,
) -> anyhow::Result<Arc<Proxy>> {
    let ports: Vec<SocketAddr> = (0..replicas)
        .map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            Ok(SocketAddr::from(([127, 0, 0, 1], port)))
        })
        .collect::<anyhow::Result<_>>()?;
    let (proxy, proxy_url) = start_proxy(ports.clone(), stop.clone()).await?;
    for listen in &ports {
        let url = proxy_url.clone();
        stack
            .start_bot_gateway_replica(|settings| {
                settings.bot_gateway.listen = *listen;
                settings.telegram.mode = TelegramMode::Webhook;
                settings.telegram.webhook_url = url;
                settings.telegram.webhook_secret = Secret::new(SECRET);
                // Telegram's most: each delivery waits until its update is handled.
                settings.telegram.webhook_max_connections = 100;
            })
            .await?;
    }
    Ok(proxy)
}

/// Customers registered already (a first order's registration would change the script),
/// conversations idle.
async fn registered_customers(
    stack: &TestStack,
    count: usize,
    first_id: i64,
) -> anyhow::Result<Vec<SimUser>> {
    let users: Vec<SimUser> = (0..count)
        .map(|i| stack.telegram.user_with(first_id + i as i64, "Bench", "uk"))
        .collect();
    for user in &users {
        let state = json!({"language": "uk", "profile": {"name": "Bench User", "phone": "+380500000001"}, "stage": "idle"});
        sqlx::query("INSERT INTO bot_dialogues (chat_id, state, updated_at) VALUES (?, ?, UTC_TIMESTAMP(6))")
            .bind(user.chat_id())
            .bind(state.to_string())
            .execute(&stack.db)
            .await?;
        // Their chats' turns exist too (free), as for anyone who talked to the bot before.
        sqlx::query("INSERT INTO bot_chat_turns (chat_id, holder, expires_at) VALUES (?, '', '1970-01-01 00:00:01')")
            .bind(user.chat_id())
            .execute(&stack.db)
            .await?;
    }
    Ok(users)
}

/// Telegram's limits on: customers' orders against the ceiling, with pushes going out too
/// when asked.
async fn limited(args: &Args) -> anyhow::Result<()> {
    let pace = args.messages_per_second;
    let concurrency = args.notifier_concurrency;
    let mut stack = TestStack::start_with(DoubleConfig::default(), |settings| {
        settings.telegram.flood_limits = true;
        settings.telegram.messages_per_second = pace;
        settings.notifier.concurrency = concurrency;
        settings.broker.prefetch = (concurrency as u16) * 2;
        settings.database.max_connections = (concurrency as u32) * 2 + 24;
    })
    .await?;
    stack.stop_service(Service::BotGateway).await?;
    for _ in 1..args.notifiers {
        stack.start_extra_notifier().await?;
    }
    let stop = CancellationToken::new();
    let double = stack.telegram.clone();
    let proxy = gateway_replicas(&mut stack, args.replicas, &stop).await?;
    let users = registered_customers(&stack, args.users, 920_000).await?;
    let customer_chats: Vec<i64> = users.iter().map(SimUser::chat_id).collect();

    let bus = bureau_platform::bus::event_bus(&stack.settings.broker, "bench-bot");
    if args.pushes > 0 {
        eprintln!("seeding {} push chats …", args.push_chats);
        let orders = seed_orders(&stack, args.push_chats).await?;
        let envelopes = status_changes(&orders, args.pushes);
        let published = Instant::now();
        for batch in envelopes.chunks(500) {
            bus.publish_all(batch).await?;
        }
        eprintln!(
            "published {} pushes in {:?}",
            envelopes.len(),
            published.elapsed()
        );
    }
    eprintln!(
        "gateway: {} users x {} updates, limits on, {} replica(s), {} pushes …",
        args.users,
        Script::OrderOnly.updates(),
        args.replicas,
        args.pushes
    );
    let before = double.stats().too_many_requests;
    bot_gateway::stage_times::reset();
    bureau_platform::telegram_pace::reset_batch_totals();
    let gateway = run(&double, &proxy, &users, Script::OrderOnly).await?;
    let stages = bot_gateway::stage_times::snapshot();
    let batches = bureau_platform::telegram_pace::batch_totals();
    let stats = double.stats();
    // From the first update to the last order number told.
    let last_number = customer_chats
        .iter()
        .flat_map(|chat| double.messages_to(*chat))
        .filter(|m| m.body().contains('№'))
        .map(|m| m.at)
        .max()
        .context("some order accepted")?;
    let span = last_number.duration_since(gateway.started);
    let window = (gateway.started, last_number);

    // What each order cost: the bot's messages and edits in the customers' chats.
    let (mut messages, mut edits) = (0usize, 0usize);
    for chat in &customer_chats {
        for message in double.messages_to(*chat) {
            if message.edited {
                edits += 1;
            } else {
                messages += 1;
            }
        }
    }
    let orders = (args.users - gateway.unfinished) as f64;
    let (per_order_messages, per_order_edits) = (messages as f64 / orders, edits as f64 / orders);
    let orders_per_second = orders / span.as_secs_f64();
    let ceiling_messages = TELEGRAM_CEILING / per_order_messages;
    let ceiling_calls = TELEGRAM_CEILING / (per_order_messages + per_order_edits);

    // Every successful sending call of the bot in the window, customers' and pushes'.
    let mut sends: Vec<Instant> = stats
        .send_times
        .values()
        .flatten()
        .copied()
        .filter(|at| *at >= window.0 && *at <= window.1)
        .collect();
    sends.sort();
    let pushes_sent = stats
        .send_times
        .iter()
        .filter(|(chat, _)| !customer_chats.contains(chat))
        .map(|(_, times)| {
            times
                .iter()
                .filter(|at| **at >= window.0 && **at <= window.1)
                .count()
        })
        .sum::<usize>();
    let most_in_a_second = max_in_window(&sends, Duration::from_secs(1));
    let total_rate = sends.len() as f64 / span.as_secs_f64();

    println!(
        "bench-bot --limits: {} users x {} updates, {} gateway replica(s), pace {pace} calls/s, {} pushes to {} chats ({} notifier(s) x {concurrency})",
        args.users,
        Script::OrderOnly.updates(),
        args.replicas,
        args.pushes,
        args.push_chats,
        args.notifiers
    );
    println!(
        "  orders                 {orders} in {:.1} s: {orders_per_second:.2} orders/s",
        span.as_secs_f64()
    );
    println!(
        "  per order              {per_order_messages:.2} messages + {per_order_edits:.2} edits"
    );
    println!(
        "  ceiling at 30/s        {ceiling_messages:.2} orders/s for the messages, {ceiling_calls:.2} for messages and edits"
    );
    println!(
        "  ratio to the ceiling   {:.3} (messages), {:.3} (messages and edits)",
        orders_per_second / ceiling_messages,
        orders_per_second / ceiling_calls
    );
    println!(
        "  customers' replies     p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        gateway.p50.as_secs_f64() * 1e3,
        gateway.p99.as_secs_f64() * 1e3,
        gateway.max.as_secs_f64() * 1e3
    );
    println!(
        "  all sends, the bot     {} in the window ({pushes_sent} pushes): {total_rate:.2}/s, ratio to 30/s {:.3}, most in any 1 s {most_in_a_second}",
        sends.len(),
        total_rate / TELEGRAM_CEILING
    );
    println!(
        "  429 answers            {}",
        stats.too_many_requests - before
    );
    println!(
        "  lost                   {} conversations unfinished, {} updates delivered again after a 10 s timeout",
        gateway.unfinished, gateway.redelivered
    );
    print_stages(&stages, &batches);
    bus.close().await;
    stop.cancel();
    stack.teardown().await
}

/// Where the gateway's time went: each stage's runs, mean and longest time, and the MySQL
/// commits it made per update; then the pace's batches (the notifiers' in this process too).
fn print_stages(
    stages: &[bot_gateway::stage_times::StageTotals],
    batches: &bureau_platform::telegram_pace::BatchTotals,
) {
    let updates = stages
        .iter()
        .find(|totals| totals.stage == bot_gateway::stage_times::Stage::Update)
        .map_or(0, |totals| totals.count)
        .max(1) as f64;
    println!(
        "  where the gateway's time went ({updates} updates handled):\n    {:<26} {:>7} {:>10} {:>10} {:>16}",
        "stage", "runs", "mean ms", "max ms", "commits/update"
    );
    for totals in stages {
        let mean = totals.micros as f64 / totals.count.max(1) as f64 / 1e3;
        println!(
            "    {:<26} {:>7} {:>10.1} {:>10.1} {:>16.2}",
            totals.stage.name(),
            totals.count,
            mean,
            totals.most_micros as f64 / 1e3,
            totals.writes as f64 / updates
        );
    }
    println!(
        "    pace batches (all senders in this process): {} transactions ({:.2} per update), {:.1} asks each, mean {:.1} ms, max {:.1} ms",
        batches.batches,
        batches.batches as f64 / updates,
        batches.asks as f64 / batches.batches.max(1) as f64,
        batches.micros as f64 / batches.batches.max(1) as f64 / 1e3,
        batches.most_micros as f64 / 1e3
    );
}

/// The most of sorted `times` within any window of length `window`.
fn max_in_window(times: &[Instant], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end].duration_since(times[start]) >= window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Limits lifted: the gateway against the raw echo bot.
async fn unlimited(args: &Args) -> anyhow::Result<()> {
    let connections = 10 + 4 * args.replicas as u32;
    let mut stack = TestStack::start_with(DoubleConfig::without_limits(), |settings| {
        settings.telegram.flood_limits = false;
        settings.database.max_connections = connections;
    })
    .await?;
    stack.stop_service(Service::BotGateway).await?;
    let stop = CancellationToken::new();
    let double = stack.telegram.clone();

    // Baseline: the raw echo bot behind the same proxy.
    let api = format!("{}/bot{}", double.api_url(), double.token());
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()?;
    let echo_router = axum::Router::new()
        .route("/telegram/webhook", axum::routing::post(echo))
        .with_state((client.clone(), api.clone()));
    let echo_addr = serve(echo_router, stop.clone()).await?;
    let (echo_proxy, echo_url) = start_proxy(vec![echo_addr], stop.clone()).await?;
    client
        .post(format!("{api}/setWebhook"))
        .json(&json!({"url": echo_url, "secret_token": SECRET}))
        .send()
        .await?
        .error_for_status()?;
    let baseline_users: Vec<SimUser> = (0..args.users)
        .map(|i| double.user_with(910_000 + i as i64, "Base", "uk"))
        .collect();
    eprintln!(
        "baseline: {} users x {} updates through the echo bot …",
        args.users,
        Script::Echo.updates()
    );
    let baseline = run(&double, &echo_proxy, &baseline_users, Script::Echo).await?;

    // The gateway: replicas in webhook mode behind the proxy.
    let proxy = gateway_replicas(&mut stack, args.replicas, &stop).await?;
    let users = registered_customers(&stack, args.users, 920_000).await?;
    eprintln!(
        "gateway: {} users x {} updates, {} replica(s) …",
        args.users,
        Script::WithStatus.updates(),
        args.replicas
    );
    let gateway = run(&double, &proxy, &users, Script::WithStatus).await?;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&stack.db)
        .await
        .unwrap_or(-1);

    println!(
        "bench-bot: {} users x {} updates, {} gateway replica(s)",
        args.users,
        Script::WithStatus.updates(),
        args.replicas
    );
    println!(
        "{:<22} {:>12} {:>10} {:>10} {:>10}",
        "", "updates/s", "p50 ms", "p99 ms", "max ms"
    );
    for (name, figures) in [
        ("baseline (echo bot)", &baseline),
        ("bot gateway", &gateway),
    ] {
        println!(
            "{name:<22} {:>12.0} {:>10.1} {:>10.1} {:>10.1}",
            figures.updates_per_second,
            figures.p50.as_secs_f64() * 1e3,
            figures.p99.as_secs_f64() * 1e3,
            figures.max.as_secs_f64() * 1e3
        );
    }
    println!(
        "bot gateway, the card's first edit (a service chosen): p50 {:.1} ms, p99 {:.1} ms",
        gateway.edit_p50.as_secs_f64() * 1e3,
        gateway.edit_p99.as_secs_f64() * 1e3
    );
    println!(
        "ratios to the baseline: throughput {:.2}, p99 handling time {:.1}x",
        gateway.updates_per_second / baseline.updates_per_second,
        gateway.p99.as_secs_f64() / baseline.p99.as_secs_f64()
    );
    println!(
        "orders placed: {} of {} (persisted by the time of this line: {orders})",
        args.users, args.users
    );

    stop.cancel();
    stack.teardown().await
}

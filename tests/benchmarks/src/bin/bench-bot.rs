//! Bot gateway throughput and latency: many simulated Telegram customers, each running the
//! same ten-update conversation (start, new order, "Other", text, document, photo, text,
//! `/status`, Done, Confirm) as fast as the bot answers, through the Telegram double in
//! webhook mode with Telegram's limits lifted (`DoubleConfig::without_limits()`, and the
//! gateway's own pacing off: `telegram.flood_limits = false`).
//!
//! ```text
//! cargo run --release -p bureau-benchmarks --bin bench-bot -- --users 200 --replicas 1
//! ```
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
use bureau_end_to_end::{Service, TestStack};
use bureau_platform::Secret;
use bureau_platform::settings::TelegramMode;
use clap::Parser;
use serde_json::{Value, json};
use telegram_double::{DoubleConfig, SentMessage, SimUser, TelegramDouble};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &str = "bench-bot-webhook-secret";

#[derive(Parser, Debug)]
struct Args {
    /// Simulated customers, each sending ten updates.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Bot gateway replicas behind the round-robin proxy.
    #[arg(long, default_value_t = 1)]
    replicas: usize,
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

/// One customer's conversation: ten updates, each sent once the previous one is answered.
async fn converse(double: &TelegramDouble, user: &SimUser, echo_only: bool) -> anyhow::Result<()> {
    let chat = user.chat_id();
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
    let saved = next(&mut seen).await?;
    user.send_text("/status 12345678");
    next(&mut seen).await?;
    press(&saved, "dn:")?;
    let summary = next(&mut seen).await?;
    press(&summary, "confirm:")?;
    let accepted = next(&mut seen).await?;
    anyhow::ensure!(
        echo_only || accepted.body().contains('№'),
        "not accepted: {}",
        accepted.body()
    );
    Ok(())
}

const UPDATES_PER_USER: usize = 10;

struct Figures {
    updates_per_second: f64,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// The third update ("Other" pressed) is answered by editing the catalogue message,
    /// which teloxide's throttle does not hold back: the gateway's own handling time.
    edit_p50: Duration,
    edit_p99: Duration,
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
    echo_only: bool,
) -> anyhow::Result<Figures> {
    let started = Instant::now();
    let conversations = users.iter().map(|user| converse(double, user, echo_only));
    let outcomes = futures::future::join_all(conversations).await;
    let elapsed = started.elapsed();
    for outcome in outcomes {
        outcome?;
    }
    let deliveries = proxy.deliveries.lock().expect("not poisoned").clone();
    let mut times = Vec::with_capacity(users.len() * UPDATES_PER_USER);
    let mut edits = Vec::with_capacity(users.len());
    for user in users {
        let replies = double.messages_to(user.chat_id());
        let delivered = deliveries
            .get(&user.chat_id())
            .context("deliveries for every user")?;
        anyhow::ensure!(
            delivered.len() == UPDATES_PER_USER,
            "chat {}: {} deliveries",
            user.chat_id(),
            delivered.len()
        );
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
        updates_per_second: (users.len() * UPDATES_PER_USER) as f64 / elapsed.as_secs_f64(),
        p50: quantile(&times, 0.50),
        p99: quantile(&times, 0.99),
        max: *times.last().context("some times")?,
        edit_p50: quantile(&edits, 0.50),
        edit_p99: quantile(&edits, 0.99),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
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
        "baseline: {} users x {UPDATES_PER_USER} updates through the echo bot …",
        args.users
    );
    let baseline = run(&double, &echo_proxy, &baseline_users, true).await?;

    // The gateway: replicas in webhook mode behind the proxy; customers registered already
    // (a first order's registration would change the script), conversations idle.
    let ports: Vec<SocketAddr> = (0..args.replicas)
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
    let users: Vec<SimUser> = (0..args.users)
        .map(|i| double.user_with(920_000 + i as i64, "Bench", "uk"))
        .collect();
    for user in &users {
        let state = json!({"language": "uk", "profile": {"name": "Bench User", "phone": "+380500000001"}, "stage": "idle"});
        sqlx::query("INSERT INTO bot_dialogues (chat_id, state, updated_at) VALUES (?, ?, UTC_TIMESTAMP(6))")
            .bind(user.chat_id())
            .bind(state.to_string())
            .execute(&stack.db)
            .await?;
    }
    eprintln!(
        "gateway: {} users x {UPDATES_PER_USER} updates, {} replica(s) …",
        args.users, args.replicas
    );
    let gateway = run(&double, &proxy, &users, false).await?;
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&stack.db)
        .await
        .unwrap_or(-1);

    println!(
        "bench-bot: {} users x {UPDATES_PER_USER} updates, {} gateway replica(s)",
        args.users, args.replicas
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
        "bot gateway, updates answered by an edit (not held by the throttle): p50 {:.1} ms, p99 {:.1} ms",
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

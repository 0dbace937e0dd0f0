//! The Telegram conversation on the whole real stack (RabbitMQ, MariaDB, S3, every service;
//! Telegram doubled):
//! 1. an order through the catalogue registers the customer, reaches MySQL, shows in "My
//!    orders" with its file and history, and is cancelled by the customer;
//! 2. a file above Telegram's 20 MB gets a personal upload link, and the file uploaded there
//!    joins the order;
//! 3. two bot gateways in webhook mode behind a round-robin proxy serve one customer's
//!    alternating updates (an album among them), and one replica restarting mid-order loses
//!    nothing.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bot_gateway::dialogue::Language;
use bot_gateway::texts::{Texts, key};
use bureau_end_to_end::telegram_customer::{TEST_PHONE, button_with_prefix, confirm, reply_since};
use bureau_end_to_end::{DEADLINE, Service, TestStack, eventually, random_bytes, sha256_hex};
use bureau_platform::Secret;
use bureau_platform::settings::TelegramMode;
use sqlx::Row;
use telegram_double::{SentMessage, SimUser};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const UK: Language = Language::Uk;

/// The button labelled `label` under `message`, pressed; waits for the callback's answer.
async fn press(
    stack: &TestStack,
    user: &SimUser,
    message: &SentMessage,
    label: &str,
) -> anyhow::Result<()> {
    let data = message
        .inline_buttons()
        .into_iter()
        .find(|(text, _)| text == label)
        .map(|(_, data)| data)
        .ok_or_else(|| anyhow!("no button {label:?} under {:?}", message.body()))?;
    let query = user.press_button(message.message_id, &data);
    stack
        .telegram
        .wait_for_callback_answer(&query, DEADLINE)
        .await?;
    Ok(())
}

/// Sends `text` and waits for the bot's first message or edit after it matching `pred`.
async fn say(
    stack: &TestStack,
    user: &SimUser,
    text: &str,
    pred: impl Fn(&SentMessage) -> bool,
) -> anyhow::Result<SentMessage> {
    let since = Instant::now();
    user.send_text(text);
    reply_since(&stack.telegram, user, since, DEADLINE, pred).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_through_the_catalogue_is_persisted_listed_shown_and_cancelled()
-> anyhow::Result<()> {
    let stack = TestStack::start().await?;
    let t = Texts::load();
    let user = stack.telegram.user_with(8101, "Ірина", "uk");

    say(&stack, &user, "/start", |m| m.reply_markup.is_some()).await?;
    let top = say(&stack, &user, &t.get(UK, key::MENU_NEW_ORDER), |m| {
        button_with_prefix(m, "cc:").is_some()
    })
    .await?;
    let since = Instant::now();
    press(&stack, &user, &top, "Нотаріальне засвідчення — 300 ₴").await?;
    let chosen = reply_since(&stack.telegram, &user, since, DEADLINE, |m| m.edited).await?;
    assert!(
        chosen.body().contains("Нотаріальне засвідчення"),
        "{}",
        chosen.body()
    );
    let since = Instant::now();
    user.send_document(
        "passport.pdf",
        "application/pdf",
        b"%PDF-1.7 passport".to_vec(),
        Some("Паспорт, 2 сторінки"),
    );
    // The order's card, edited in place, shows the file with Confirm under it.
    let card = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.edited && m.body().contains("passport.pdf") && button_with_prefix(m, "confirm:").is_some()
    })
    .await?;
    assert_eq!(
        card.message_id, top.message_id,
        "one card for the whole order"
    );
    let number = confirm(&stack.telegram, &user, &card, DEADLINE).await?;

    // Persisted with the registration data and the service, the file stored.
    let (order_id, service, phone, name) = eventually("the order in MySQL", DEADLINE, || async {
        let row = sqlx::query(
            "SELECT o.id, o.service_code, c.phone, c.display_name FROM orders o JOIN customers c ON c.id = o.customer_id
             WHERE o.order_number = ?",
        )
        .bind(&number)
        .fetch_optional(&stack.db)
        .await
        .ok()??;
        Some((row.get::<Uuid, _>("id"), row.get::<Option<String>, _>("service_code"), row.get::<Option<String>, _>("phone"), row.get::<String, _>("display_name")))
    })
    .await?;
    assert_eq!(
        (service.as_deref(), phone.as_deref(), name.as_str()),
        (Some("notarisation"), Some(TEST_PHONE), "Test Customer")
    );
    eventually("the file stored", DEADLINE, || async {
        let stored: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM order_files WHERE order_id = ? AND state = 'stored'",
        )
        .bind(order_id)
        .fetch_one(&stack.db)
        .await
        .ok()?;
        (stored == 1).then_some(())
    })
    .await?;

    // My orders → the order's page → Cancel → Yes: recorded as the customer's cancellation.
    let list = say(&stack, &user, &t.get(UK, key::MENU_MY_ORDERS), |m| {
        button_with_prefix(m, "od:").is_some()
    })
    .await?;
    let status = t.status(UK, proto_events::OrderStatus::AwaitingConfirmation);
    let since = Instant::now();
    press(&stack, &user, &list, &format!("№{number} · {status}")).await?;
    let page = reply_since(&stack.telegram, &user, since, DEADLINE, |m| m.edited).await?;
    for part in [
        number.as_str(),
        "Нотаріальне засвідчення",
        "Паспорт, 2 сторінки",
        "• passport.pdf (17 Б)",
        &status,
    ] {
        assert!(page.body().contains(part), "{part} in {}", page.body());
    }
    let since = Instant::now();
    press(&stack, &user, &page, &t.get(UK, key::BUTTON_CANCEL_ORDER)).await?;
    let question = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        button_with_prefix(m, "oy:").is_some()
    })
    .await?;
    press(&stack, &user, &question, &t.get(UK, key::BUTTON_YES_CANCEL)).await?;
    eventually("the order cancelled in MySQL", DEADLINE, || async {
        let row = sqlx::query(
            "SELECT o.status, h.actor_kind FROM orders o JOIN order_status_history h ON h.order_id = o.id AND h.version = 2
             WHERE o.id = ?",
        )
        .bind(order_id)
        .fetch_optional(&stack.db)
        .await
        .ok()??;
        (row.get::<String, _>("status") == "cancelled" && row.get::<String, _>("actor_kind") == "customer").then_some(())
    })
    .await?;

    // A cancelled order offers no Cancel any more: the old Yes is outdated.
    let query = user.press_button(
        question.message_id,
        &button_with_prefix(&question, "oy:").context("yes")?,
    );
    let answer = stack
        .telegram
        .wait_for_callback_answer(&query, DEADLINE)
        .await?;
    assert_eq!(answer.text, Some(t.get(UK, key::BUTTON_OUTDATED)));

    stack.teardown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_above_telegrams_limit_gets_an_upload_link_and_joins_the_order() -> anyhow::Result<()>
{
    let stack = TestStack::start().await?;
    let t = Texts::load();
    let user = stack.telegram.user_with(8102, "Bohdan", "uk");

    let since = Instant::now();
    user.send_document_sized("scan.tiff", "image/tiff", 25 * 1024 * 1024, None);
    let too_large = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.body().contains("scan.tiff") && m.reply_markup.is_none()
    })
    .await?;
    assert_eq!(
        too_large.body(),
        t.format(
            UK,
            key::DRAFT_FILE_TOO_LARGE,
            &[("name", "scan.tiff"), ("limit_mb", "20")]
        )
    );
    let card = say(
        &stack,
        &user,
        "Переклад скану свідоцтва",
        |m| {
            m.body().contains("Переклад скану свідоцтва")
                && button_with_prefix(m, "confirm:").is_some()
        },
    )
    .await?;
    let number = confirm(&stack.telegram, &user, &card, DEADLINE).await?;
    let link = stack
        .telegram
        .wait_for_message(user.chat_id(), DEADLINE, |m| m.body().contains("/u/"))
        .await?;
    assert!(
        link.body().contains(&number) && link.body().contains("«scan.tiff»"),
        "{}",
        link.body()
    );
    let token = link
        .body()
        .rsplit("/u/")
        .next()
        .context("a token")?
        .trim()
        .to_owned();

    // The link's page, on this stack's web gateway; the upload joins the order once it exists.
    let page_url = stack.web_url(&format!("/u/{token}"));
    let order_id = eventually("the order in MySQL", DEADLINE, || async {
        sqlx::query_scalar::<_, Uuid>("SELECT id FROM orders WHERE order_number = ?")
            .bind(&number)
            .fetch_optional(&stack.db)
            .await
            .ok()?
    })
    .await?;
    assert_eq!(stack.http.get(&page_url).send().await?.status(), 200);
    let bytes = random_bytes(256 * 1024);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes.clone()).file_name("scan.tiff"),
    );
    let uploaded = stack.http.post(&page_url).multipart(form).send().await?;
    assert_eq!(uploaded.status(), 201, "{:?}", uploaded.text().await);
    let sha = sha256_hex(&bytes);
    eventually("the uploaded file stored with the order", DEADLINE, || async {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT original_name FROM order_files WHERE order_id = ? AND state = 'stored' AND sha256 = ?")
                .bind(order_id)
                .bind(&sha)
                .fetch_optional(&stack.db)
                .await
                .ok()?;
        stored
    })
    .await?;

    // Once the order is closed, the link (still within its lifetime) takes no more files.
    sqlx::query("UPDATE orders SET status = 'delivered' WHERE id = ?")
        .bind(order_id)
        .execute(&stack.db)
        .await?;
    let page = stack.http.get(&page_url).send().await?;
    assert_eq!(page.status(), 409);
    assert!(page.text().await?.contains("takes no more files"));
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("late.tiff"),
    );
    let late = stack.http.post(&page_url).multipart(form).send().await?;
    assert_eq!(late.status(), 409, "a closed order refuses the upload");
    let files: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_files WHERE order_id = ?")
        .bind(order_id)
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(files, 1, "nothing joined the closed order");

    stack.teardown().await
}

/// A round-robin proxy: each webhook delivery goes to the next replica; counts what each
/// one accepted. A replica that is down answers 502, and the double delivers again.
struct RoundRobin {
    backends: Vec<SocketAddr>,
    next: AtomicUsize,
    served: Vec<AtomicUsize>,
    client: reqwest::Client,
}

async fn forward(
    State(proxy): State<Arc<RoundRobin>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let index = proxy.next.fetch_add(1, Ordering::SeqCst) % proxy.backends.len();
    let mut request = proxy
        .client
        .post(format!("http://{}/telegram/webhook", proxy.backends[index]))
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = headers.get(telegram_double::SECRET_TOKEN_HEADER) {
        request = request.header(telegram_double::SECRET_TOKEN_HEADER, secret.as_bytes());
    }
    match request.send().await {
        Ok(response) => {
            if response.status().is_success() {
                proxy.served[index].fetch_add(1, Ordering::SeqCst);
            }
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_webhook_replicas_serve_one_customer_and_a_restart_mid_order_loses_nothing()
-> anyhow::Result<()> {
    let mut stack = TestStack::start().await?;
    let t = Texts::load();
    // Webhooks instead of the stack's polling gateway (Telegram allows one or the other).
    stack.stop_service(Service::BotGateway).await?;
    let backends = vec![
        SocketAddr::from(([127, 0, 0, 1], free_port()?)),
        SocketAddr::from(([127, 0, 0, 1], free_port()?)),
    ];
    let proxy = Arc::new(RoundRobin {
        backends: backends.clone(),
        next: AtomicUsize::new(0),
        served: vec![AtomicUsize::new(0), AtomicUsize::new(0)],
        client: reqwest::Client::builder().no_proxy().build()?,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let proxy_url = format!("http://{}/telegram/webhook", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/telegram/webhook", axum::routing::post(forward))
        .with_state(proxy.clone());
    let proxy_stop = CancellationToken::new();
    let stopping = proxy_stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopping.cancelled().await })
            .await
    });
    let replica = |listen: SocketAddr, url: String| {
        move |settings: &mut bureau_platform::Settings| {
            settings.bot_gateway.listen = listen;
            settings.telegram.mode = TelegramMode::Webhook;
            settings.telegram.webhook_url = url;
            settings.telegram.webhook_secret = Secret::new("replicas-share-this-secret");
        }
    };
    let (first, _) = stack
        .start_bot_gateway_replica(replica(backends[0], proxy_url.clone()))
        .await?;
    stack
        .start_bot_gateway_replica(replica(backends[1], proxy_url.clone()))
        .await?;
    let user = stack.telegram.user_with(8103, "Lesia", "uk");

    say(&stack, &user, "/start", |m| m.reply_markup.is_some()).await?;
    let top = say(&stack, &user, &t.get(UK, key::MENU_NEW_ORDER), |m| {
        button_with_prefix(m, "co:").is_some()
    })
    .await?;
    let since = Instant::now();
    press(&stack, &user, &top, &t.get(UK, key::BUTTON_OTHER)).await?;
    reply_since(&stack.telegram, &user, since, DEADLINE, |m| m.edited).await?;
    // An album: its items reach both replicas, and none is lost.
    let since = Instant::now();
    let pages = (1..=3)
        .map(|i| {
            (
                format!("page-{i}.pdf"),
                "application/pdf".to_owned(),
                random_bytes(2048),
            )
        })
        .collect();
    user.send_media_group(pages, Some("Три сторінки"));
    let album = reply_since(&stack.telegram, &user, since, DEADLINE, |m| {
        m.edited && m.body().contains("page-3.pdf")
    })
    .await?;
    assert_eq!(
        album.body().matches("• page-").count(),
        3,
        "the card shows the album once: {}",
        album.body()
    );

    // One replica restarts in the middle of the order; updates meanwhile go to the other.
    stack.stop_bot_gateway_replica(first).await?;
    // The stopped replica gave its chats' turns back before closing its pool (an album of
    // this chat may have been gathered there), so the other answers at once, not after the
    // turn's 30 s: well inside that, or the turn was left to expire.
    let since = Instant::now();
    user.send_text("Терміново, до п'ятниці");
    reply_since(
        &stack.telegram,
        &user,
        since,
        Duration::from_secs(20),
        |m| m.body().contains("Терміново, до п'ятниці"),
    )
    .await?;
    stack
        .start_bot_gateway_replica(replica(backends[0], proxy_url.clone()))
        .await?;
    let card = say(&stack, &user, "Дякую", |m| {
        m.body().contains("Дякую") && button_with_prefix(m, "confirm:").is_some()
    })
    .await?;
    let number = confirm(&stack.telegram, &user, &card, DEADLINE).await?;

    let served: Vec<usize> = proxy
        .served
        .iter()
        .map(|count| count.load(Ordering::SeqCst))
        .collect();
    assert!(
        served.iter().all(|&count| count >= 3),
        "both replicas served the customer: {served:?}"
    );
    let (body, files) = eventually(
        "the order with its three files in MySQL",
        DEADLINE,
        || async {
            let row = sqlx::query(
            "SELECT o.body, (SELECT COUNT(*) FROM order_files f WHERE f.order_id = o.id) AS files
             FROM orders o WHERE o.order_number = ?",
        )
        .bind(&number)
        .fetch_optional(&stack.db)
        .await
        .ok()??;
            let files: i64 = row.get("files");
            (files == 3).then(|| (row.get::<String, _>("body"), files))
        },
    )
    .await?;
    assert_eq!(
        (body.as_str(), files),
        ("Три сторінки\n\nТерміново, до п'ятниці\n\nДякую", 3)
    );
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(&stack.db)
        .await?;
    assert_eq!(orders, 1, "one conversation, one order");

    proxy_stop.cancel();
    server.await??;
    stack.teardown().await
}

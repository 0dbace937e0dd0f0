//! Telegram failing the bot's replies (5xx): every reply reaches the customer once Telegram
//! takes them again, in order, and an update that was handled is not handled again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bot_gateway::texts::key;
use proto_events::Event;
use telegram_double::Fault;

use crate::support::{EN, Harness, eventually, order_number_in};

/// Telegram answers 502 to the bot's next sending call (teloxide returns it after 10 s).
fn telegram_fails_once(harness: &Harness) -> u64 {
    let before = harness.double.stats().server_errors;
    harness
        .double
        .set_fault(Fault::ServerError { remaining: 1 });
    before
}

/// The reply above was indeed refused once.
fn refused_once(harness: &Harness, before: u64) {
    assert_eq!(harness.double.stats().server_errors, before + 1);
}

#[tokio::test]
async fn replies_telegram_failed_arrive_in_order_once_it_is_back_and_nothing_is_done_twice() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut iryna = harness.customer(harness.double.user_with(9009, "Iryna", "en"));

    // The reply to /start fails; it comes once Telegram takes it, once.
    let before = telegram_fails_once(&harness);
    iryna.user.send_text("/start");
    iryna
        .expect_reply(&t.format(EN, key::GREETING, &[("name", "Iryna")]))
        .await;
    refused_once(&harness, before);

    iryna.user.send_text("Translate my certificate");
    let card = iryna.next_reply().await;

    // Confirm by a first-time customer has two replies (the card, edited, and the name
    // question); the first fails: both come once Telegram takes them, in order, once each.
    let before = telegram_fails_once(&harness);
    iryna
        .press_label(&card, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    let registering = iryna.next().await;
    assert!(registering.edited, "{registering:?}");
    iryna.expect_reply(&t.get(EN, key::REGISTER_NAME)).await;
    refused_once(&harness, before);
    iryna.user.send_text("Iryna Bondar");
    iryna.next_reply().await;

    // The phone, and Telegram fails the reply: the order is placed once, and its number
    // told once Telegram takes it, without the customer sending anything again.
    let before = telegram_fails_once(&harness);
    iryna.user.send_text("+380931112233");
    let accepted = iryna.next_reply().await;
    refused_once(&harness, before);
    let number = order_number_in(&accepted);
    assert_eq!(
        accepted.body(),
        t.format(EN, key::ORDER_ACCEPTED, &[("number", &number)])
    );
    let Event::OrderCreated(first) = events.next().await.payload else {
        panic!("the order")
    };
    assert_eq!(first.order_number, number);
    eventually("the message acknowledged", async || {
        harness.double.pending_updates() == 0
    })
    .await;

    // An album, and Telegram fails its one answer (a new draft's card): it comes once
    // Telegram takes it.
    let before = telegram_fails_once(&harness);
    iryna.user.send_media_group(
        vec![(
            "page-1.pdf".to_owned(),
            "application/pdf".to_owned(),
            b"%PDF page".to_vec(),
        )],
        None,
    );
    let album = iryna.next_reply().await;
    assert!(album.body().contains("• page-1.pdf"), "{}", album.body());
    refused_once(&harness, before);

    // The next order's events come next: nothing handled above was handled again.
    iryna
        .press_label(&album, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    let accepted = iryna.next().await;
    assert!(accepted.edited && accepted.message_id == album.message_id);
    let Event::OrderCreated(second) = events.next().await.payload else {
        panic!("the second order, not the first again")
    };
    assert_ne!(second.order_id, first.order_id);
    assert_eq!(second.order_number, order_number_in(&accepted));
    iryna.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

/// The stored conversation of chat `chat_id`, as JSON text.
async fn stored_state(harness: &Harness, chat_id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM bot_dialogues WHERE chat_id = ?")
        .bind(chat_id)
        .fetch_one(&harness.db)
        .await
        .expect("the conversation is stored")
}

/// Telegram seen through a gate: every call goes on to the double, except that while the
/// gate is shut a `sendMessage` waits at it (counted) until it opens — the moment in which
/// a killed replica would die with its replies unsaid.
#[derive(Clone)]
struct Gate {
    double_api: String,
    http: reqwest::Client,
    open: tokio::sync::watch::Receiver<bool>,
    waiting: Arc<AtomicUsize>,
}

async fn through_gate(
    axum::extract::State(gate): axum::extract::State<Gate>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (
    axum::http::StatusCode,
    [(&'static str, String); 1],
    axum::body::Bytes,
) {
    if uri.path().to_ascii_lowercase().ends_with("/sendmessage") && !*gate.open.borrow() {
        gate.waiting.fetch_add(1, Ordering::SeqCst);
        let mut open = gate.open.clone();
        let _ = open.wait_for(|open| *open).await;
    }
    let mut request = gate
        .http
        .post(format!("{}{}", gate.double_api, uri))
        .body(body);
    if let Some(kind) = headers.get("content-type") {
        request = request.header("content-type", kind.as_bytes());
    }
    let response = request.send().await.expect("the double answers");
    let status = axum::http::StatusCode::from_u16(response.status().as_u16()).expect("a status");
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    (
        status,
        [("content-type", kind)],
        response.bytes().await.expect("a body"),
    )
}

/// A replica killed between placing an order and Telegram taking "accepted" must not lose
/// that answer (the cluster run, tests/faults, kills bot replicas mid-update): an update
/// that saved the conversation keeps its replies with it before sending them, so Telegram
/// delivering the update again says them. Seen while the reply waits at the gate: the
/// stored conversation already has the order placed and its reply kept.
#[tokio::test]
async fn replies_of_an_update_that_saved_the_conversation_are_kept_before_they_are_sent() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let (opener, open) = tokio::sync::watch::channel(true);
    let gate = Gate {
        double_api: harness.double.api_url(),
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client"),
        open,
        waiting: Arc::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let gate_url = format!("http://{}", listener.local_addr().expect("an address"));
    let app = axum::Router::new()
        .fallback(through_gate)
        .with_state(gate.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut settings = harness.settings.clone();
    settings.telegram.api_url = gate_url;
    let gateway = harness.start_gateway(settings).await;
    let t = &harness.texts;
    let chat_id = 9010;
    let mut olena = harness.customer(harness.double.user_with(chat_id, "Olena", "en"));
    olena.user.send_text("/start");
    olena
        .expect_reply(&t.format(EN, key::GREETING, &[("name", "Olena")]))
        .await;
    olena.user.send_text("Translate my diploma");
    let card = olena.next_reply().await;
    olena
        .press_label(&card, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    assert!(olena.next().await.edited);
    olena.expect_reply(&t.get(EN, key::REGISTER_NAME)).await;
    olena.user.send_text("Olena Shevchenko");
    olena.next_reply().await;

    // The phone places the order; "accepted" waits at the gate.
    opener.send_replace(false);
    olena.user.send_text("+380931112244");
    eventually("the reply at the gate", async || {
        gate.waiting.load(Ordering::SeqCst) == 1
    })
    .await;
    let state = stored_state(&harness, chat_id).await;
    assert!(
        state.contains("\"undelivered\"") && state.contains("\"stage\":\"idle\""),
        "the order placed and its reply kept before Telegram took it: {state}"
    );

    // Said once the gate opens, once; then nothing is kept any more.
    opener.send_replace(true);
    let accepted = olena.next_reply().await;
    let number = order_number_in(&accepted);
    assert_eq!(
        accepted.body(),
        t.format(EN, key::ORDER_ACCEPTED, &[("number", &number)])
    );
    let Event::OrderCreated(order) = events.next().await.payload else {
        panic!("the order")
    };
    assert_eq!(order.order_number, number);
    eventually("the kept reply cleared", async || {
        !stored_state(&harness, chat_id)
            .await
            .contains("\"undelivered\"")
    })
    .await;
    // A new draft's card: kept while it was sent, cleared after, and the card's message
    // remembered by the draft.
    olena.user.send_text("Translate my transcript too");
    let card = olena.next_reply().await;
    eventually("the draft remembers its card, nothing kept", async || {
        let state = stored_state(&harness, chat_id).await;
        !state.contains("\"undelivered\"")
            && state.contains(&format!("\"card\":{}", card.message_id))
    })
    .await;
    olena.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

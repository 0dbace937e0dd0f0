//! Updates the gateway cannot do now (broker or MySQL out of reach) are left with Telegram
//! and done when delivered again: by polling across a restart, and behind a webhook.

use bot_gateway::texts::key;
use bureau_platform::Secret;
use bureau_platform::settings::TelegramMode;
use proto_events::Event;

use crate::support::{self, Harness, UK, button_data, eventually, free_port, order_number_in};

#[tokio::test]
async fn a_press_the_broker_did_not_take_is_left_with_telegram_and_placed_on_redelivery() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let t = &harness.texts;
    let mut broken = harness.settings.clone();
    broken.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f");
    let gateway = harness.start_gateway(broken).await;
    let mut petro = harness.customer(harness.double.user_with(5005, "Петро", "uk"));

    let readiness = reqwest::get(format!("http://{}/readyz", gateway.running.http_addr))
        .await
        .expect("/readyz answers");
    assert_eq!(readiness.status(), 503, "not ready without the broker");

    // Registered ahead through /profile, so that Confirm places the order straight away.
    petro.user.send_text("/profile");
    petro.expect_reply(&t.get(UK, key::PROFILE_NONE)).await;
    petro.user.send_text("Петро Іваненко");
    petro.next_reply().await;
    petro.user.send_text("+380671112233");
    petro
        .expect_reply(&t.format(
            UK,
            key::PROFILE_SAVED,
            &[("name", "Петро Іваненко"), ("phone", "+380671112233")],
        ))
        .await;

    petro.user.send_text(&t.get(UK, key::MENU_NEW_ORDER));
    let top = petro.next_reply().await;
    petro.press_label(&top, "Апостиль").await;
    petro.next().await;
    // The gateway restarts in the middle of the order: nothing is lost.
    gateway.stop().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    petro.user.send_text("Апостиль на диплом");
    // The order's card, remembered across the restart, edited in place.
    let card = petro.next().await;
    assert!(card.edited && card.message_id == top.message_id, "{card:?}");
    assert!(
        card.body().contains("Апостиль на диплом") && card.body().contains("Апостиль"),
        "{}",
        card.body()
    );
    // The card's edit for the text is made after a quiet second, outside the update, under
    // the chat's turn: stopping before that turn is given back would leave it to expire
    // (30 s) in the next process's way.
    eventually("the card's edit gave the chat's turn back", async || {
        let held: (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM bot_chat_turns WHERE chat_id = ? AND expires_at > UTC_TIMESTAMP(6)",
        )
        .bind(petro.user.chat_id())
        .fetch_one(&harness.db)
        .await
        .expect("query");
        held.0 == 0
    })
    .await;
    gateway.stop().await;

    // Now the broker is out of reach: the order is not accepted yet, and the press is left
    // with Telegram rather than acknowledged.
    let gateway = harness.start_gateway(broken_settings(&harness)).await;
    let confirm = button_data(&card, &t.get(UK, key::BUTTON_CONFIRM));
    let press = petro.user.press_button(card.message_id, &confirm);
    petro.expect_reply(&t.get(UK, key::ORDER_DEFERRED)).await;
    harness
        .double
        .wait_for_callback_answer(&press, support::WAIT)
        .await
        .expect("the press is answered");
    gateway.stop().await;
    assert_eq!(
        harness.double.pending_updates(),
        1,
        "the deferred press outlives the gateway, unacknowledged"
    );

    // A new gateway process, the broker back: Telegram delivers the press again and the
    // order is placed without the customer doing anything.
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let accepted = petro.next().await;
    assert!(
        accepted.edited,
        "the number is told on the card: {accepted:?}"
    );
    let number = order_number_in(&accepted);
    assert_eq!(
        accepted.body(),
        t.format(UK, key::ORDER_ACCEPTED, &[("number", &number)])
    );
    let Event::OrderCreated(created) = events.next().await.payload else {
        panic!("the order")
    };
    assert_eq!(
        (created.text.as_str(), created.order_number.as_str()),
        ("Апостиль на диплом", number.as_str())
    );
    assert_eq!(created.service_code.as_deref(), Some("apostille"));
    eventually("the press acknowledged", async || {
        harness.double.pending_updates() == 0
    })
    .await;

    // A late double tap on the same card places nothing more.
    let late_tap = petro.user.press_button(card.message_id, &confirm);
    let late = harness
        .double
        .wait_for_callback_answer(&late_tap, support::WAIT)
        .await
        .expect("answered");
    assert_eq!(late.text, Some(t.get(UK, key::BUTTON_OUTDATED)));
    petro.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

fn broken_settings(harness: &Harness) -> bureau_platform::Settings {
    let mut broken = harness.settings.clone();
    broken.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f");
    broken
}

#[tokio::test]
async fn a_webhook_takes_updates_only_with_the_secret_and_answers_503_to_what_it_defers() {
    let harness = Harness::new().await;
    let t = &harness.texts;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/telegram/webhook");
    let mut settings = harness.settings.clone();
    settings.bot_gateway.listen = ([127, 0, 0, 1], port).into();
    settings.telegram.mode = TelegramMode::Webhook;
    settings.telegram.webhook_url = url.clone();
    settings.telegram.webhook_secret = Secret::new("s3cret-Token_1");
    let gateway = harness.start_gateway(settings.clone()).await;
    let mut maria = harness.customer(harness.double.user_with(6006, "Марія", "uk"));

    maria.user.send_text("/start");
    maria
        .expect_reply(&t.format(UK, key::GREETING, &[("name", "Марія")]))
        .await;
    assert_eq!(
        harness.double.webhook(),
        Some((url.clone(), Some("s3cret-Token_1".to_owned())))
    );

    let forged = serde_json::json!({
        "update_id": 999_999,
        "message": {
            "message_id": 1, "date": 1_700_000_000, "text": "/start",
            "chat": {"id": 7007, "type": "private", "first_name": "Mallory"},
            "from": {"id": 7007, "is_bot": false, "first_name": "Mallory"},
        }
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a client");
    for secret in [None, Some("wrong"), Some("s3cret-token_1")] {
        let mut request = client.post(&url).json(&forged);
        if let Some(secret) = secret {
            request = request.header(telegram_double::SECRET_TOKEN_HEADER, secret);
        }
        assert_eq!(
            request.send().await.expect("the gateway answers").status(),
            401,
            "secret {secret:?}"
        );
    }
    let stored: Option<(i64,)> =
        sqlx::query_as("SELECT chat_id FROM bot_dialogues WHERE chat_id = 7007")
            .fetch_optional(&harness.db)
            .await
            .expect("query");
    assert_eq!(stored, None, "a refused update changes nothing");
    assert!(harness.double.messages_to(7007).is_empty());

    gateway.stop().await;
    assert!(
        harness.double.webhook().is_some(),
        "a stopping replica leaves the webhook to the others"
    );

    // A replica whose MySQL is out of reach defers the update (503): Telegram keeps it and
    // tries again, and the customer is told once, not at every retry.
    let mut no_database = settings.clone();
    no_database.database.url = Secret::new("mysql://root@127.0.0.1:1/none");
    no_database.database.run_migrations = false;
    let broken = harness.start_gateway(no_database).await;
    maria.user.send_text("/orders");
    maria.expect_reply(&t.get(UK, key::DEFERRED)).await;
    eventually("Telegram retried the deferred update", async || {
        harness
            .double
            .webhook_last_error()
            .is_some_and(|error| error.contains("503"))
    })
    .await;
    assert_eq!(harness.double.pending_updates(), 1);
    broken.stop().await;

    // A healthy replica takes the very same update.
    let gateway = harness.start_gateway(settings).await;
    maria.expect_reply(&t.get(UK, key::ORDERS_NONE)).await;
    eventually("the update acknowledged", async || {
        harness.double.pending_updates() == 0
    })
    .await;
    maria.assert_all_read();
    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn an_update_telegram_delivers_again_after_it_was_handled_changes_nothing_twice() {
    let harness = Harness::new().await;
    let t = &harness.texts;
    let port = free_port();
    let mut settings = harness.settings.clone();
    settings.bot_gateway.listen = ([127, 0, 0, 1], port).into();
    settings.telegram.mode = TelegramMode::Webhook;
    settings.telegram.webhook_url = format!("http://127.0.0.1:{port}/telegram/webhook");
    settings.telegram.webhook_secret = Secret::new("redelivery-Token_2");
    let gateway = harness.start_gateway(settings).await;
    let mut olena = harness.customer(harness.double.user_with(6106, "Олена", "uk"));
    let chat = olena.user.chat_id();

    olena.user.send_text(&t.get(UK, key::MENU_NEW_ORDER));
    let card = olena.next_reply().await;
    olena
        .press(&card, &support::button_with_prefix(&card, "cs:"))
        .await;
    olena.next().await;
    let text = olena.user.send_text("Переклад довідки з місця роботи");
    let shown = olena.next().await;
    assert_eq!(
        shown
            .body()
            .matches("Переклад довідки з місця роботи")
            .count(),
        1,
        "{}",
        shown.body()
    );
    eventually("the text acknowledged", async || {
        harness.double.pending_updates() == 0
    })
    .await;

    // Telegram did not get our answer in time and delivers the same update again.
    harness
        .double
        .deliver_again(chat, text)
        .expect("the text's update is known to the double");
    eventually("the update delivered again acknowledged", async || {
        harness.double.pending_updates() == 0
    })
    .await;
    let (state,): (String,) =
        sqlx::query_as("SELECT CAST(state AS CHAR) FROM bot_dialogues WHERE chat_id = ?")
            .bind(chat)
            .fetch_one(&harness.db)
            .await
            .expect("the conversation is stored");
    assert_eq!(
        state.matches("Переклад довідки з місця роботи").count(),
        1,
        "the text went into the draft once: {state}"
    );

    // The next message's card shows the text once, and nothing was said in between.
    olena.user.send_text("До понеділка");
    let card = olena.next().await;
    assert!(card.edited, "{card:?}");
    assert!(card.body().contains("До понеділка"), "{}", card.body());
    assert_eq!(
        card.body()
            .matches("Переклад довідки з місця роботи")
            .count(),
        1,
        "{}",
        card.body()
    );
    olena.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

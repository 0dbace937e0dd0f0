//! The bot conversation end to end within this service: the real gateway against MariaDB,
//! RabbitMQ and the Telegram Bot API double, as a customer would use it.

mod support;

use bot_gateway::dialogue::{Language, MAX_DESCRIPTION_CHARS};
use bot_gateway::texts::key;
use bureau_platform::Secret;
use bureau_platform::settings::TelegramMode;
use proto_events::{CustomerRef, Event, FileSource, OrderStatus};
use support::{Harness, button_data, eventually, free_port, order_number_in};
use uuid::Uuid;

const UK: Language = Language::Uk;
const EN: Language = Language::En;

#[tokio::test]
async fn text_and_a_document_become_one_order_announced_by_its_number() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut olena = harness.customer(harness.double.user_with(1001, "Олена", "uk"));

    olena.user.send_text("/start");
    let greeting = olena.expect_reply(&t.format(UK, key::GREETING, &[("name", "Олена")])).await;
    assert_eq!(
        greeting.reply_keyboard(),
        [t.get(UK, key::MENU_NEW_ORDER), t.get(UK, key::MENU_MY_ORDERS), t.get(UK, key::MENU_HELP)]
    );

    olena.user.send_text("Переклад диплома англійською");
    let saved = olena.expect_reply(&t.get(UK, key::DRAFT_TEXT_SAVED)).await;
    let confirm = button_data(&saved, &t.get(UK, key::BUTTON_CONFIRM));
    assert!(confirm.starts_with("confirm:") && confirm.len() <= 64, "{confirm}");

    olena.user.send_document("diploma.pdf", "application/pdf", b"%PDF-1.7 diploma".to_vec(), Some("сторінка 1"));
    let file_received = olena.expect_reply(&t.format(UK, key::DRAFT_FILE_RECEIVED, &[("count", "1")])).await;
    assert_eq!(button_data(&file_received, &t.get(UK, key::BUTTON_CONFIRM)), confirm, "one draft, one id");

    let answer = olena.press(&file_received, &confirm).await;
    assert_eq!(answer.text, None);
    let accepted = olena.next_reply().await;
    let number = order_number_in(&accepted);
    assert_eq!(accepted.body(), t.format(UK, key::ORDER_ACCEPTED, &[("number", &number)]));

    let published = events.take(2).await;
    let Event::OrderCreated(created) = &published[0].payload else { panic!("the order first: {published:?}") };
    assert_eq!(created.order_number, number);
    assert_eq!(created.text, "Переклад диплома англійською");
    assert_eq!(created.file_count, 1);
    let CustomerRef::Telegram { user_id, chat_id, language, .. } = &created.customer else { panic!("a Telegram customer") };
    assert_eq!((*user_id, *chat_id, language.as_deref()), (1001, 1001, Some("uk")));
    let Event::FileReceived(file) = &published[1].payload else { panic!("then its file") };
    assert_eq!(file.order_id, created.order_id);
    assert_eq!(file.original_name, "diploma.pdf");
    assert_eq!(file.note.as_deref(), Some("сторінка 1"));
    assert_eq!(file.declared_size, Some(16));
    assert_eq!(file.declared_content_type.as_deref(), Some("application/pdf"));
    assert!(matches!(&file.source, FileSource::Telegram { telegram_file_id, .. } if !telegram_file_id.is_empty()));
    for event in &published {
        assert_eq!(event.correlation_id, created.order_id);
        assert_eq!(event.producer, "bot-gateway");
    }

    // A second tap on the same Confirm: one order, not two.
    let stale = olena.press(&file_received, &confirm).await;
    assert_eq!(stale.text, Some(t.get(UK, key::BUTTON_OUTDATED)));
    // The next order is the next thing published: the stale tap published nothing.
    olena.user.send_text("Друге замовлення");
    let second = olena.expect_reply(&t.get(UK, key::DRAFT_TEXT_SAVED)).await;
    let second_confirm = button_data(&second, &t.get(UK, key::BUTTON_CONFIRM));
    assert_ne!(second_confirm, confirm);
    // The old button does not confirm the new draft either.
    let mismatched = olena.press(&file_received, &confirm).await;
    assert_eq!(mismatched.text, Some(t.get(UK, key::BUTTON_OUTDATED)));
    olena.press(&second, &second_confirm).await;
    let Event::OrderCreated(next) = events.next().await.payload else { panic!("the second order") };
    assert_eq!(next.text, "Друге замовлення");
    assert_ne!(next.order_number, number);

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn english_files_alone_and_what_the_draft_refuses() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut alice = harness.customer(harness.double.user_with(2002, "Alice", "en-GB"));

    // "New order" opens an empty draft; confirming it asks for content first.
    alice.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let prompt = alice.expect_reply(&t.get(EN, key::DRAFT_PROMPT)).await;
    let confirm = button_data(&prompt, &t.get(EN, key::BUTTON_CONFIRM));
    let empty = alice.press(&prompt, &confirm).await;
    assert_eq!(empty.text, Some(t.get(EN, key::DRAFT_EMPTY)));

    alice.user.send_sticker();
    alice.expect_reply(&t.get(EN, key::UNSUPPORTED)).await;

    alice.user.send_text(&"x".repeat(MAX_DESCRIPTION_CHARS + 1));
    alice.expect_reply(&t.format(EN, key::DRAFT_TOO_LONG, &[("limit", &MAX_DESCRIPTION_CHARS.to_string())])).await;

    alice.user.send_document_sized("scan.tiff", "image/tiff", 25 * 1024 * 1024, Some("too big"));
    alice
        .expect_reply(&t.format(EN, key::DRAFT_FILE_TOO_LARGE, &[("name", "scan.tiff"), ("limit_mb", "20")]))
        .await;

    alice.user.send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], Some("My passport, please translate"));
    let received = alice.expect_reply(&t.format(EN, key::DRAFT_FILE_RECEIVED, &[("count", "1")])).await;
    assert_eq!(button_data(&received, &t.get(EN, key::BUTTON_CONFIRM)), confirm, "the same draft");

    alice.press(&received, &confirm).await;
    let accepted = alice.next_reply().await;
    let number = order_number_in(&accepted);
    assert_eq!(accepted.body(), t.format(EN, key::ORDER_ACCEPTED, &[("number", &number)]));

    let published = events.take(2).await;
    let Event::OrderCreated(created) = &published[0].payload else { panic!("the order first") };
    assert_eq!(created.text, "My passport, please translate", "the caption describes a file-only order");
    assert_eq!(created.file_count, 1, "the refused file is not part of it");
    let CustomerRef::Telegram { display_name, language, .. } = &created.customer else { panic!("Telegram") };
    assert_eq!((display_name.as_str(), language.as_deref()), ("Alice", Some("en")));
    let Event::FileReceived(photo) = &published[1].payload else { panic!("then the photo") };
    assert!(photo.original_name.starts_with("photo_") && photo.original_name.ends_with(".jpg"), "{}", photo.original_name);
    assert_eq!(photo.declared_content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(photo.note.as_deref(), Some("My passport, please translate"));

    // Cancelling: the button drops the draft, and is outdated afterwards.
    alice.user.send_text("Another one");
    let saved = alice.expect_reply(&t.get(EN, key::DRAFT_TEXT_SAVED)).await;
    let cancel = button_data(&saved, &t.get(EN, key::BUTTON_CANCEL));
    alice.press(&saved, &cancel).await;
    alice.expect_reply(&t.get(EN, key::DRAFT_CANCELLED)).await;
    let again = alice.press(&saved, &cancel).await;
    assert_eq!(again.text, Some(t.get(EN, key::BUTTON_OUTDATED)));
    alice.user.send_text("/cancel");
    alice.expect_reply(&t.get(EN, key::DRAFT_NOTHING_TO_CANCEL)).await;

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn status_answers_only_about_the_customers_own_orders() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let owner_order = "48213097";
    insert_order(&harness, 3003, owner_order, OrderStatus::InProgress).await;
    let mut owner = harness.customer(harness.double.user_with(3003, "Owner", "uk"));
    let mut stranger = harness.customer(harness.double.user_with(4004, "Stranger", "uk-UA"));

    owner.user.send_text("/status 4821-3097");
    let status = t.status(UK, OrderStatus::InProgress);
    owner.expect_reply(&t.format(UK, key::STATUS_FOUND, &[("number", owner_order), ("status", &status)])).await;

    // Someone else's number reads exactly like a number nobody has.
    stranger.user.send_text(&format!("/status {owner_order}"));
    let foreign = stranger.expect_reply(&t.format(UK, key::STATUS_NOT_FOUND, &[("number", owner_order)])).await;
    stranger.user.send_text("/status 59999999");
    let missing = stranger.expect_reply(&t.format(UK, key::STATUS_NOT_FOUND, &[("number", "59999999")])).await;
    assert_eq!(foreign.body().replace(owner_order, "N"), missing.body().replace("59999999", "N"));

    stranger.user.send_text("/status abc");
    stranger.expect_reply(&t.get(UK, key::STATUS_USAGE)).await;

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn a_failed_publish_keeps_the_draft_and_a_restart_keeps_the_conversation() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let t = &harness.texts;
    let mut broken = harness.settings.clone();
    broken.broker.url = Secret::new("amqp://guest:guest@127.0.0.1:1/%2f");
    let gateway = harness.start_gateway(broken).await;
    let mut petro = harness.customer(harness.double.user_with(5005, "Петро", "uk"));

    let readiness = reqwest::get(format!("http://{}/readyz", gateway.running.http_addr)).await.expect("/readyz answers");
    assert_eq!(readiness.status(), 503, "not ready without the broker");

    petro.user.send_text("Ремонт ноутбука");
    let saved = petro.expect_reply(&t.get(UK, key::DRAFT_TEXT_SAVED)).await;
    let confirm = button_data(&saved, &t.get(UK, key::BUTTON_CONFIRM));
    petro.press(&saved, &confirm).await;
    petro.expect_reply(&t.get(UK, key::ORDER_NOT_ACCEPTED)).await;
    gateway.stop().await;

    // A new gateway process, the broker back: the draft is still there and the same button works.
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let readyz = format!("http://{}/readyz", gateway.running.http_addr);
    eventually("ready with the broker back", async || {
        reqwest::get(&readyz).await.is_ok_and(|response| response.status().is_success())
    })
    .await;
    petro.press(&saved, &confirm).await;
    let accepted = petro.next_reply().await;
    let number = order_number_in(&accepted);
    assert_eq!(accepted.body(), t.format(UK, key::ORDER_ACCEPTED, &[("number", &number)]));
    let Event::OrderCreated(created) = events.next().await.payload else { panic!("the order") };
    assert_eq!((created.text.as_str(), created.order_number.as_str()), ("Ремонт ноутбука", number.as_str()));

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn a_webhook_takes_updates_only_with_the_secret() {
    let harness = Harness::new().await;
    let t = &harness.texts;
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/telegram/webhook");
    let mut settings = harness.settings.clone();
    settings.bot_gateway.listen = ([127, 0, 0, 1], port).into();
    settings.telegram.mode = TelegramMode::Webhook;
    settings.telegram.webhook_url = url.clone();
    settings.telegram.webhook_secret = Secret::new("s3cret-Token_1");
    let gateway = harness.start_gateway(settings).await;
    let mut maria = harness.customer(harness.double.user_with(6006, "Марія", "uk"));

    maria.user.send_text("/start");
    maria.expect_reply(&t.format(UK, key::GREETING, &[("name", "Марія")])).await;
    assert_eq!(harness.double.webhook(), Some((url.clone(), Some("s3cret-Token_1".to_owned()))));

    let forged = serde_json::json!({
        "update_id": 999_999,
        "message": {
            "message_id": 1, "date": 1_700_000_000, "text": "/start",
            "chat": {"id": 7007, "type": "private", "first_name": "Mallory"},
            "from": {"id": 7007, "is_bot": false, "first_name": "Mallory"},
        }
    });
    let client = reqwest::Client::builder().no_proxy().build().expect("a client");
    for secret in [None, Some("wrong"), Some("s3cret-token_1")] {
        let mut request = client.post(&url).json(&forged);
        if let Some(secret) = secret {
            request = request.header(telegram_double::SECRET_TOKEN_HEADER, secret);
        }
        assert_eq!(request.send().await.expect("the gateway answers").status(), 401, "secret {secret:?}");
    }
    let stored: Option<(i64,)> = sqlx::query_as("SELECT chat_id FROM bot_dialogues WHERE chat_id = 7007")
        .fetch_optional(&harness.db)
        .await
        .expect("query");
    assert_eq!(stored, None, "a refused update changes nothing");
    assert!(harness.double.messages_to(7007).is_empty());

    gateway.stop().await;
    assert!(harness.double.webhook().is_some(), "a stopping replica leaves the webhook to the others");
    harness.finish().await;
}

/// An order as the persistence worker would have recorded it.
async fn insert_order(harness: &Harness, telegram_user_id: i64, number: &str, status: OrderStatus) {
    let customer_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, display_name, language, telegram_user_id, telegram_chat_id, created_at, updated_at)
         VALUES (?, 'Owner', 'uk', ?, ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(customer_id)
    .bind(telegram_user_id)
    .bind(telegram_user_id)
    .execute(&harness.db)
    .await
    .expect("customer");
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, body, status, status_version, expected_files,
                             created_at, updated_at)
         VALUES (?, ?, ?, 'telegram', 'text', ?, 2, 0, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
    )
    .bind(Uuid::now_v7())
    .bind(number)
    .bind(customer_id)
    .bind(status.as_str())
    .execute(&harness.db)
    .await
    .expect("order");
}

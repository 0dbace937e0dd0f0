//! The bot conversation end to end within this service: the real gateway against MariaDB,
//! RabbitMQ and the Telegram Bot API double, as a customer would use it. Scripted
//! conversations for every flow and every bad input the bot must answer kindly.

mod support;

use bot_gateway::dialogue::{Language, MAX_DESCRIPTION_CHARS, MAX_FILES};
use bot_gateway::texts::key;
use bureau_platform::Secret;
use bureau_platform::links::{LinkPurpose, LinkSigner};
use bureau_platform::settings::TelegramMode;
use proto_events::{Actor, CustomerRef, Event, FileSource, OrderStatus};
use support::{Harness, button_data, eventually, free_port, order_number_in};
use uuid::Uuid;

const UK: Language = Language::Uk;
const EN: Language = Language::En;

#[tokio::test]
async fn a_first_order_through_the_catalogue_registers_the_customer_once() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut olena = harness.customer(harness.double.user_with(1001, "Олена", "uk"));

    // First contact: greeting with the main menu, then the language choice.
    olena.user.send_text("/start");
    let greeting = olena
        .expect_reply(&t.format(UK, key::GREETING, &[("name", "Олена")]))
        .await;
    assert_eq!(
        greeting.reply_keyboard(),
        [
            t.get(UK, key::MENU_NEW_ORDER),
            t.get(UK, key::MENU_MY_ORDERS),
            t.get(UK, key::MENU_HELP),
            t.get(UK, key::MENU_CONTACT)
        ]
    );
    let languages = olena.expect_reply(&t.get(UK, key::LANGUAGE_PROMPT)).await;
    assert_eq!(olena.press(&languages, "lg:en").await.text, None);
    let switched = olena.expect_reply(&t.get(EN, key::LANGUAGE_SET)).await;
    assert_eq!(
        switched.reply_keyboard()[0],
        t.get(EN, key::MENU_NEW_ORDER),
        "the menu is redrawn in English"
    );

    // The catalogue: nested categories with Back, in English now.
    olena.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let top = olena.expect_reply(&t.get(EN, key::CATALOGUE_PROMPT)).await;
    let labels = |m: &telegram_double::SentMessage| {
        m.inline_buttons()
            .into_iter()
            .map(|(label, _)| label)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labels(&top),
        [
            "📂 Translation",
            "Notarisation",
            "Apostille",
            "Interpreting",
            "🔹 Other",
            "✖️ Cancel"
        ]
    );
    for (_, data) in top.inline_buttons() {
        assert!(
            data.len() <= 64 && !data.contains("Translation"),
            "ids only: {data}"
        );
    }
    olena.press_label(&top, "📂 Translation").await;
    let translation = olena
        .expect_edit(&t.format(EN, key::CATALOGUE_CATEGORY, &[("category", "Translation")]))
        .await;
    assert_eq!(
        labels(&translation),
        [
            "📂 Documents",
            "Legal translation",
            "Technical translation",
            "⬅️ Back",
            "✖️ Cancel"
        ]
    );
    olena.press_label(&translation, "📂 Documents").await;
    let documents = olena
        .expect_edit(&t.format(EN, key::CATALOGUE_CATEGORY, &[("category", "Documents")]))
        .await;
    olena.press_label(&documents, "⬅️ Back").await;
    let back = olena
        .expect_edit(&t.format(EN, key::CATALOGUE_CATEGORY, &[("category", "Translation")]))
        .await;
    olena.press_label(&back, "📂 Documents").await;
    let documents = olena.next().await;
    olena.press_label(&documents, "Diploma").await;
    olena
        .expect_edit(&t.format(EN, key::SERVICE_CHOSEN, &[("service", "Diploma")]))
        .await;

    // Text, a document and a captioned photo, then Done.
    olena
        .user
        .send_text("Bachelor's diploma, 2 pages, into English");
    olena.expect_reply(&t.get(EN, key::DRAFT_TEXT_SAVED)).await;
    olena.user.send_document(
        "diploma.pdf",
        "application/pdf",
        b"%PDF-1.7 diploma".to_vec(),
        None,
    );
    olena
        .expect_reply(&t.format(EN, key::DRAFT_FILE_RECEIVED, &[("count", "1")]))
        .await;
    olena.user.send_photo(
        vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        Some("the supplement"),
    );
    let second = olena
        .expect_reply(&t.format(EN, key::DRAFT_FILE_RECEIVED, &[("count", "2")]))
        .await;
    olena
        .press_label(&second, &t.get(EN, key::BUTTON_DONE))
        .await;
    let summary = olena.next_reply().await;
    for part in [
        "Service: Diploma",
        "Bachelor's diploma, 2 pages, into English",
        "• diploma.pdf (16 B)",
        "• photo_",
    ] {
        assert!(
            summary.body().contains(part),
            "{part} in {}",
            summary.body()
        );
    }

    // Confirm: first the name (Telegram's is offered), then the phone (typed wrong, then shared).
    let confirm = button_data(&summary, &t.get(EN, key::BUTTON_CONFIRM));
    assert!(confirm.starts_with("confirm:"), "{confirm}");
    olena.press(&summary, &confirm).await;
    let ask_name = olena.expect_reply(&t.get(EN, key::REGISTER_NAME)).await;
    assert_eq!(ask_name.reply_keyboard(), ["Олена"]);
    olena.user.send_text("Olena Kovalenko");
    let ask_phone = olena
        .expect_reply(&t.format(EN, key::REGISTER_PHONE, &[("name", "Olena Kovalenko")]))
        .await;
    let share = &ask_phone.reply_markup.as_ref().unwrap()["keyboard"][0][0];
    assert_eq!(share["request_contact"], true, "{share}");
    olena.user.send_text("12345");
    olena
        .expect_reply(&t.get(EN, key::REGISTER_PHONE_INVALID))
        .await;
    olena.user.send_contact("380501234567");
    let accepted = olena.next_reply().await;
    let number = order_number_in(&accepted);
    assert_eq!(
        accepted.body(),
        t.format(EN, key::ORDER_ACCEPTED, &[("number", &number)])
    );

    let published = events.take(3).await;
    let Event::OrderCreated(created) = &published[0].payload else {
        panic!("the order first: {published:?}")
    };
    assert_eq!(
        (
            created.order_number.as_str(),
            created.service_code.as_deref()
        ),
        (number.as_str(), Some("translation.diploma"))
    );
    assert_eq!(
        (created.text.as_str(), created.file_count),
        ("Bachelor's diploma, 2 pages, into English", 2)
    );
    let CustomerRef::Telegram {
        user_id,
        display_name,
        phone,
        language,
        ..
    } = &created.customer
    else {
        panic!("Telegram")
    };
    assert_eq!(
        (
            *user_id,
            display_name.as_str(),
            phone.as_deref(),
            language.as_deref()
        ),
        (1001, "Olena Kovalenko", Some("+380501234567"), Some("en"))
    );
    let Event::FileReceived(photo) = &published[2].payload else {
        panic!("then the files")
    };
    assert_eq!(
        photo.note.as_deref(),
        Some("the supplement"),
        "a caption is its file's note"
    );
    assert!(matches!(&photo.source, FileSource::Telegram { .. }));

    // A rapid second tap on Confirm: one order, not two.
    assert_eq!(
        olena.press(&summary, &confirm).await.text,
        Some(t.get(EN, key::BUTTON_OUTDATED))
    );

    // The second order: "Other", and no registration again.
    olena.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let top = olena.next_reply().await;
    olena.press_label(&top, "🔹 Other").await;
    olena
        .expect_edit(&t.format(EN, key::SERVICE_CHOSEN, &[("service", "Other")]))
        .await;
    olena.user.send_text("Sworn translation of a contract");
    let saved = olena.next_reply().await;
    olena
        .press_label(&saved, &t.get(EN, key::BUTTON_DONE))
        .await;
    let summary = olena.next_reply().await;
    assert!(
        summary.body().contains("Service: Other") && summary.body().contains("none"),
        "{}",
        summary.body()
    );
    olena
        .press_label(&summary, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    let accepted = olena.next_reply().await;
    assert!(order_number_in(&accepted) != number, "{}", accepted.body());
    let Event::OrderCreated(next) = events.next().await.payload else {
        panic!("the second order")
    };
    let CustomerRef::Telegram { phone, .. } = &next.customer else {
        panic!()
    };
    assert_eq!(
        (next.service_code, phone.as_deref()),
        (None, Some("+380501234567"))
    );
    olena.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer_and_leaves_nothing_half_made() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut alice = harness.customer(harness.double.user_with(2002, "Alice", "en-GB"));

    alice.user.send_sticker();
    alice.expect_reply(&t.get(EN, key::UNSUPPORTED)).await;
    alice.user.send_location(50.45, 30.52);
    alice.expect_reply(&t.get(EN, key::UNSUPPORTED)).await;
    alice.user.send_text("/status abc");
    alice.expect_reply(&t.get(EN, key::STATUS_USAGE)).await;
    alice.user.send_text("/status 59999999");
    alice
        .expect_reply(&t.format(EN, key::STATUS_NOT_FOUND, &[("number", "59999999")]))
        .await;
    alice.user.send_text("/cancel");
    alice.expect_reply(&t.get(EN, key::NOTHING_TO_CANCEL)).await;

    alice.user.send_text(&"x".repeat(MAX_DESCRIPTION_CHARS + 1));
    alice
        .expect_reply(&t.format(
            EN,
            key::DRAFT_TOO_LONG,
            &[("limit", &MAX_DESCRIPTION_CHARS.to_string())],
        ))
        .await;
    alice.user.send_document(
        "setup.exe",
        "application/x-msdownload",
        b"MZ\x90\x00 program".to_vec(),
        Some("run me"),
    );
    alice
        .expect_reply(&t.format(EN, key::DRAFT_FILE_REFUSED, &[("name", "setup.exe")]))
        .await;
    alice.user.send_document_sized(
        "scan.tiff",
        "image/tiff",
        25 * 1024 * 1024,
        Some("too big for Telegram"),
    );
    alice
        .expect_reply(&t.format(
            EN,
            key::DRAFT_FILE_TOO_LARGE,
            &[("name", "scan.tiff"), ("limit_mb", "20")],
        ))
        .await;
    alice
        .user
        .send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 9], Some("   "));
    let received = alice
        .expect_reply(&t.format(EN, key::DRAFT_FILE_RECEIVED, &[("count", "2")]))
        .await;

    // Done, then more text: the earlier summary's Confirm no longer matches the draft.
    alice
        .press_label(&received, &t.get(EN, key::BUTTON_DONE))
        .await;
    let stale_summary = alice.next_reply().await;
    assert!(
        stale_summary
            .body()
            .contains("scan.tiff (25.0 MB; you will get an upload link)"),
        "{}",
        stale_summary.body()
    );
    alice.user.send_text("Please scan in colour");
    let saved = alice.expect_reply(&t.get(EN, key::DRAFT_TEXT_SAVED)).await;
    let outdated = Some(t.get(EN, key::BUTTON_OUTDATED));
    assert_eq!(
        alice
            .press_label(&stale_summary, &t.get(EN, key::BUTTON_CONFIRM))
            .await
            .text,
        outdated
    );
    // Forged and foreign buttons change nothing and are answered.
    let someone_elses = Uuid::now_v7().simple();
    for forged in [
        "garbage".to_owned(),
        format!("confirm:{someone_elses}:0"),
        format!("od:{someone_elses}"),
        format!("oy:{someone_elses}:1"),
    ] {
        assert_eq!(
            alice.press(&saved, &forged).await.text,
            outdated,
            "{forged}"
        );
    }

    alice
        .press_label(&saved, &t.get(EN, key::BUTTON_DONE))
        .await;
    let summary = alice.next_reply().await;
    alice
        .press_label(&summary, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    alice.expect_reply(&t.get(EN, key::REGISTER_NAME)).await;
    alice.user.send_text("/unknown");
    alice.next_reply().await; // help: a command is never taken for a name
    alice.user.send_text("Alice Smith");
    alice.next_reply().await;
    alice.user.send_text("050 123 45 67");
    let accepted = alice.next_reply().await;
    let number = order_number_in(&accepted);
    assert_eq!(
        accepted.body(),
        t.format(EN, key::ORDER_ACCEPTED, &[("number", &number)])
    );

    // The file above Telegram's limit gets a personal upload link for this very order.
    let link = alice.next_reply().await;
    let url = link.body().lines().last().unwrap().to_owned();
    let token = url.rsplit("/u/").next().unwrap();
    let signer = LinkSigner::new(&harness.settings.links.secret).unwrap();
    let published = events.take(2).await;
    let Event::OrderCreated(created) = &published[0].payload else {
        panic!("the order")
    };
    assert_eq!(
        signer.verify(token, LinkPurpose::Upload),
        Ok(created.order_id),
        "{url}"
    );
    assert!(
        link.body().contains("«scan.tiff»") && link.body().contains(&number),
        "{}",
        link.body()
    );
    assert_eq!(
        (created.file_count, created.text.as_str()),
        (1, "Please scan in colour"),
        "refused files are not in it"
    );
    let Event::FileReceived(photo) = &published[1].payload else {
        panic!("the photo")
    };
    assert_eq!(photo.note, None, "a blank caption is no note");
    alice.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn an_album_is_answered_once_and_a_draft_is_capped() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut taras = harness.customer(harness.double.user_with(3003, "Тарас", "uk"));
    let pages = |count: usize| -> Vec<(String, String, Vec<u8>)> {
        (1..=count)
            .map(|i| {
                (
                    format!("page-{i}.pdf"),
                    "application/pdf".to_owned(),
                    format!("%PDF page {i}").into_bytes(),
                )
            })
            .collect()
    };

    taras
        .user
        .send_media_group(pages(3), Some("Договір, 3 сторінки"));
    let first = taras
        .expect_reply(&t.format(
            UK,
            key::DRAFT_ALBUM_RECEIVED,
            &[("added", "3"), ("count", "3")],
        ))
        .await;
    // An album as big as the double allows: the draft takes what fits, once more one answer.
    taras.user.send_media_group(pages(30), None);
    let over = (33 - MAX_FILES).to_string();
    let expected = [
        t.format(
            UK,
            key::DRAFT_ALBUM_RECEIVED,
            &[
                ("added", &(MAX_FILES - 3).to_string()),
                ("count", &MAX_FILES.to_string()),
            ],
        ),
        t.format(
            UK,
            key::DRAFT_ALBUM_OVER_LIMIT,
            &[("skipped", &over), ("limit", &MAX_FILES.to_string())],
        ),
    ]
    .join("\n\n");
    taras.expect_reply(&expected).await;
    taras
        .press_label(&first, &t.get(UK, key::BUTTON_DONE))
        .await;
    let summary = taras.next_reply().await;
    assert!(
        summary.body().contains("Договір, 3 сторінки"),
        "the album's caption describes the order"
    );
    assert_eq!(
        summary.body().matches("• page-").count(),
        MAX_FILES,
        "{}",
        summary.body()
    );
    taras.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn my_orders_pages_shows_an_order_cancels_where_allowed_and_talks_to_staff() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut owner = harness.customer(harness.double.user_with(4004, "Owner", "uk"));
    let customer = insert_customer(&harness, 4004).await;
    let stranger = insert_customer(&harness, 4005).await;
    let foreign = insert_order(
        &harness,
        stranger,
        "40050000",
        OrderStatus::AwaitingConfirmation,
        0,
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..7u32 {
        let status = if i == 6 {
            OrderStatus::AwaitingConfirmation
        } else {
            OrderStatus::InProgress
        };
        ids.push(insert_order(&harness, customer, &format!("4004000{i}"), status, i).await);
    }
    let (newest, in_progress) = (ids[6], ids[5]);

    owner.user.send_text(&t.get(UK, key::MENU_MY_ORDERS));
    let list = owner
        .expect_reply(&t.format(
            UK,
            key::ORDERS_PAGE,
            &[("from", "1"), ("to", "5"), ("total", "7")],
        ))
        .await;
    let buttons = list.inline_buttons();
    let awaiting = t.status(UK, OrderStatus::AwaitingConfirmation);
    assert_eq!(
        buttons[0],
        (
            format!("№40040006 · {awaiting}"),
            format!("od:{}", newest.simple())
        ),
        "newest first"
    );
    assert_eq!(buttons.last().unwrap().1, "ol:5");
    owner
        .press_label(&list, &t.get(UK, key::BUTTON_OLDER))
        .await;
    let older = owner
        .expect_edit(&t.format(
            UK,
            key::ORDERS_PAGE,
            &[("from", "6"), ("to", "7"), ("total", "7")],
        ))
        .await;
    assert_eq!(older.inline_buttons().last().unwrap().1, "ol:0");

    // One order's page: service, text, files, history, and Cancel while it is allowed.
    owner
        .press(&older, &format!("od:{}", newest.simple()))
        .await;
    let page = owner.next().await;
    for part in [
        "№40040006",
        "Апостиль",
        "Текст замовлення 6",
        "• scan-6.pdf (2 КБ)",
        &awaiting,
    ] {
        assert!(page.body().contains(part), "{part} in {}", page.body());
    }
    owner
        .press_label(&page, &t.get(UK, key::BUTTON_CANCEL_ORDER))
        .await;
    let question = owner
        .expect_edit(&t.format(UK, key::ORDER_CANCEL_QUESTION, &[("number", "40040006")]))
        .await;
    owner
        .press_label(&question, &t.get(UK, key::BUTTON_YES_CANCEL))
        .await;
    owner
        .expect_edit(&t.format(UK, key::ORDER_CANCELLED, &[("number", "40040006")]))
        .await;
    // A request at the version the customer saw, never the change itself: the persistence
    // worker decides it, and the notifier tells the customer what was recorded.
    let cancelled = events.next().await;
    let Event::OrderStatusChangeRequested(requested) = &cancelled.payload else {
        panic!("a status change request: {cancelled:?}")
    };
    assert_eq!(
        (requested.order_id, requested.from, requested.to),
        (
            newest,
            OrderStatus::AwaitingConfirmation,
            OrderStatus::Cancelled
        )
    );
    assert_eq!(
        (requested.expected_version, requested.actor.clone()),
        (1, Actor::Customer)
    );

    // In progress: no Cancel; a forged one, or anything about someone else's order, is outdated.
    owner
        .press(&page, &format!("od:{}", in_progress.simple()))
        .await;
    let page = owner.next().await;
    assert!(
        page.inline_buttons()
            .iter()
            .all(|(_, data)| !data.starts_with("oc:")),
        "{:?}",
        page.inline_buttons()
    );
    let outdated = Some(t.get(UK, key::BUTTON_OUTDATED));
    for forged in [
        format!("oc:{}", in_progress.simple()),
        format!("oy:{}:1", in_progress.simple()),
        format!("od:{}", foreign.simple()),
        format!("oy:{}:1", foreign.simple()),
        format!("om:{}", foreign.simple()),
    ] {
        assert_eq!(owner.press(&page, &forged).await.text, outdated, "{forged}");
    }
    owner.user.send_text("/status 40050000");
    owner
        .expect_reply(&t.format(UK, key::STATUS_NOT_FOUND, &[("number", "40050000")]))
        .await;

    // The notifier's "Open order" button under a notification: the page as a new message.
    owner
        .press(&page, &format!("order:{}", in_progress.simple()))
        .await;
    let opened = owner.next_reply().await;
    assert!(opened.body().contains("№40040005"), "{}", opened.body());

    // Writing to staff about the order.
    owner
        .press_label(&opened, &t.get(UK, key::BUTTON_WRITE))
        .await;
    owner
        .expect_reply(&t.format(UK, key::WRITE_PROMPT, &[("number", "40040005")]))
        .await;
    owner.user.send_sticker();
    owner.expect_reply(&t.get(UK, key::WRITE_TEXT_ONLY)).await;
    owner.user.send_text("Коли буде готово?");
    owner
        .expect_reply(&t.format(UK, key::WRITE_SENT, &[("number", "40040005")]))
        .await;
    let Event::OrderMessagePosted(posted) = events.next().await.payload else {
        panic!("the message")
    };
    assert_eq!(
        (posted.order_id, posted.author, posted.text.as_str()),
        (in_progress, Actor::Customer, "Коли буде готово?")
    );

    owner.user.send_text(&t.get(UK, key::MENU_CONTACT));
    let contact = owner.next_reply().await;
    assert!(
        contact.body().contains(&harness.settings.business.phone),
        "{}",
        contact.body()
    );
    owner.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

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
    let saved = petro.expect_reply(&t.get(UK, key::DRAFT_TEXT_SAVED)).await;
    gateway.stop().await;

    // Now the broker is out of reach: the order is not accepted yet, and the press is left
    // with Telegram rather than acknowledged.
    let gateway = harness.start_gateway(broken_settings(&harness)).await;
    petro
        .press_label(&saved, &t.get(UK, key::BUTTON_DONE))
        .await;
    let summary = petro.next_reply().await;
    assert!(
        summary.body().contains("Апостиль на диплом") && summary.body().contains("Апостиль"),
        "{}",
        summary.body()
    );
    let confirm = button_data(&summary, &t.get(UK, key::BUTTON_CONFIRM));
    let press = petro.user.press_button(summary.message_id, &confirm);
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
    let accepted = petro.next_reply().await;
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

    // A late double tap on the same summary places nothing more.
    let late_tap = petro.user.press_button(summary.message_id, &confirm);
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
    maria.expect_reply(&t.get(UK, key::LANGUAGE_PROMPT)).await;
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

/// A Telegram customer as the persistence worker would have recorded them.
async fn insert_customer(harness: &Harness, telegram_user_id: i64) -> Uuid {
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
    customer_id
}

/// An order with one file and its history, as the persistence worker would have recorded it;
/// `age` orders them (a higher one is newer).
async fn insert_order(
    harness: &Harness,
    customer_id: Uuid,
    number: &str,
    status: OrderStatus,
    age: u32,
) -> Uuid {
    let order_id = Uuid::now_v7();
    let version: u32 = if status == OrderStatus::AwaitingConfirmation {
        1
    } else {
        3
    };
    sqlx::query(
        "INSERT INTO orders (id, order_number, customer_id, channel, service_code, body, status, status_version,
                             expected_files, created_at, updated_at)
         VALUES (?, ?, ?, 'telegram', 'apostille', ?, ?, ?, 1,
                 UTC_TIMESTAMP(6) - INTERVAL ? HOUR, UTC_TIMESTAMP(6))",
    )
    .bind(order_id)
    .bind(number)
    .bind(customer_id)
    .bind(format!("Текст замовлення {age}"))
    .bind(status.as_str())
    .bind(version)
    .bind(100 - age)
    .execute(&harness.db)
    .await
    .expect("order");
    sqlx::query(
        "INSERT INTO order_files (id, order_id, original_name, source, declared_size, state, received_at)
         VALUES (?, ?, ?, 'telegram', 2048, 'received', UTC_TIMESTAMP(6))",
    )
    .bind(Uuid::now_v7())
    .bind(order_id)
    .bind(format!("scan-{age}.pdf"))
    .execute(&harness.db)
    .await
    .expect("file");
    sqlx::query(
        "INSERT INTO order_status_history (order_id, version, from_status, to_status, actor_kind, event_id, changed_at)
         VALUES (?, 1, NULL, 'awaiting_confirmation', 'customer', ?, UTC_TIMESTAMP(6))",
    )
    .bind(order_id)
    .bind(Uuid::now_v7())
    .execute(&harness.db)
    .await
    .expect("history");
    order_id
}

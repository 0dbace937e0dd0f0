//! A first order, as most customers place it: language, catalogue, text and files, the
//! summary, registration on the first Confirm, then a second order without it.

use bot_gateway::texts::key;
use proto_events::{CustomerRef, Event, FileSource};

use crate::support::{EN, Harness, UK, button_data, order_number_in};

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

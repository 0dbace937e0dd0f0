//! A first order, as most customers place it: the language (asked only when Telegram does
//! not tell it), the order's card growing in place through the catalogue, text and files,
//! registration on the first Confirm, then a second order without it; and how many
//! messages each costs.

use bot_gateway::texts::key;
use proto_events::{CustomerRef, Event, FileSource};
use telegram_double::SentMessage;

use crate::support::{
    Customer, EN, Harness, UK, button_data, button_with_prefix, card_text, cart, no_cart,
    order_number_in,
};

#[tokio::test]
async fn a_first_order_through_the_catalogue_registers_the_customer_once() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    // Telegram set to a language the bot does not speak: it asks, before the greeting.
    let mut olena = harness.customer(harness.double.user_with(1001, "Олена", "de"));

    olena.user.send_text("/start");
    let languages = olena.expect_reply(&t.get(UK, key::LANGUAGE_PROMPT)).await;
    assert_eq!(olena.press(&languages, "lg:en").await.text, None);
    let greeting = olena
        .expect_reply(&t.format(EN, key::GREETING, &[("name", "Олена")]))
        .await;
    assert_eq!(
        greeting.reply_keyboard(),
        [
            t.get(EN, key::MENU_NEW_ORDER),
            t.get(EN, key::MENU_MY_ORDERS),
            t.get(EN, key::MENU_HELP),
            t.get(EN, key::MENU_CONTACT)
        ],
        "the menu comes in the chosen language"
    );

    // The card starts as the catalogue: nested categories with Back, edited in place.
    olena.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let top = olena.expect_reply(&t.get(EN, key::CATALOGUE_PROMPT)).await;
    let labels = |m: &SentMessage| {
        m.inline_buttons()
            .into_iter()
            .map(|(label, _)| label)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        labels(&top),
        [
            "📂 Translation",
            // Prices on the buttons; Apostille is on quote.
            "Notarisation — 300 ₴",
            "Apostille",
            "Interpreting — 1\u{202F}200 ₴/hour",
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
    olena.press_label(&documents, "Diploma — 450 ₴/page").await;
    // One diploma in the cart, at the price list's price: an order already (no text needed).
    let diploma = cart(t, EN, &[("Diploma", 1, Some(45_000), key::CART_PER_PAGE)]);
    let chosen = card_text(t, EN, &diploma, "—", "none", key::DRAFT_CARD_READY);
    olena.expect_edit(&chosen).await;

    // Text, a document and a captioned photo: each shows on the card, edited in place.
    olena
        .user
        .send_text("Bachelor's diploma, 2 pages, into English");
    let description = "Bachelor's diploma, 2 pages, into English";
    olena
        .expect_edit(&card_text(
            t,
            EN,
            &diploma,
            description,
            "none",
            key::DRAFT_CARD_READY,
        ))
        .await;
    olena.user.send_document(
        "diploma.pdf",
        "application/pdf",
        b"%PDF-1.7 diploma".to_vec(),
        None,
    );
    olena
        .expect_edit(&card_text(
            t,
            EN,
            &diploma,
            description,
            "• diploma.pdf (16 B)",
            key::DRAFT_CARD_READY,
        ))
        .await;
    olena.user.send_photo(
        vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3],
        Some("the supplement"),
    );
    let card = olena.next().await;
    assert!(card.edited && card.message_id == top.message_id, "{card:?}");
    for part in [
        "• Diploma: 1 × 450.00 UAH per page = 450.00 UAH",
        description,
        "• diploma.pdf (16 B)",
        "• photo_",
    ] {
        assert!(card.body().contains(part), "{part} in {}", card.body());
    }

    // Confirm: first the name (Telegram's is offered), then the phone (typed wrong, then shared).
    let confirm = button_data(&card, &t.get(EN, key::BUTTON_CONFIRM));
    assert!(confirm.starts_with("confirm:"), "{confirm}");
    olena.press(&card, &confirm).await;
    let registering = olena.next().await;
    assert!(
        registering.edited
            && registering
                .body()
                .ends_with(&t.get(EN, key::DRAFT_CARD_REGISTERING)),
        "{registering:?}"
    );
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
    assert_eq!(
        accepted.reply_keyboard()[0],
        t.get(EN, key::MENU_NEW_ORDER),
        "the main menu is back"
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
        olena.press(&card, &confirm).await.text,
        Some(t.get(EN, key::BUTTON_OUTDATED))
    );

    // The second order: "Other", no registration, and the number on the card itself.
    olena.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let top = olena.next_reply().await;
    olena.press_label(&top, "🔹 Other").await;
    olena
        .expect_edit(&card_text(
            t,
            EN,
            &no_cart(t, EN),
            "—",
            "none",
            key::DRAFT_CARD_EMPTY,
        ))
        .await;
    olena.user.send_text("Sworn translation of a contract");
    let card = olena.next().await;
    assert!(
        card.edited && card.body().contains("Service: Other"),
        "{card:?}"
    );
    olena
        .press_label(&card, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    let accepted = olena.next().await;
    assert!(
        accepted.edited && accepted.message_id == top.message_id,
        "the card tells the number: {accepted:?}"
    );
    assert!(order_number_in(&accepted) != number, "{}", accepted.body());
    assert!(
        accepted.inline_buttons().is_empty(),
        "nothing left to press"
    );
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

/// Messages and edits the bot made in a chat, from entry `from` of its log on.
fn count_since(customer: &Customer, from: usize) -> (usize, usize) {
    let log = customer.received();
    let entries = &log[from.min(log.len())..];
    let edits = entries.iter().filter(|m| m.edited).count();
    (entries.len() - edits, edits)
}

/// One whole order: /start, New order, a service, two texts, a document and a photo sent
/// together, Confirm, and registration when asked. Returns the order number.
async fn order_everything(customer: &mut Customer, harness: &Harness, first_time: bool) -> String {
    let t = &harness.texts;
    customer.user.send_text("/start");
    let mut entry = customer.next_reply().await;
    if first_time {
        customer.press(&entry, "lg:uk").await;
        customer.next_reply().await;
    }
    customer.user.send_text(&t.get(UK, key::MENU_NEW_ORDER));
    let card = customer.next_reply().await;
    customer
        .press(&card, &button_with_prefix(&card, "cs:"))
        .await;
    customer.next().await;
    // Two texts, a document and a photo in a burst: the card is edited once for all four
    // (more only if the machine stalls longer than the bot's quiet between two of them).
    customer.user.send_text("Переклад договору, 12 сторінок");
    customer.user.send_document(
        "contract.pdf",
        "application/pdf",
        b"%PDF-1.7 contract".to_vec(),
        Some("основний текст"),
    );
    customer
        .user
        .send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], Some("печатка"));
    customer.user.send_text("Потрібно до п'ятниці");
    entry = loop {
        let card = customer.next().await;
        assert!(card.edited, "the burst is answered on the card: {card:?}");
        if card.body().contains("Потрібно до п'ятниці") {
            break card;
        }
    };
    customer
        .press(&entry, &button_with_prefix(&entry, "confirm:"))
        .await;
    if first_time {
        customer.next().await; // the card, while registering
        customer.next_reply().await; // the name
        customer.user.send_text("Марія Шевченко");
        customer.next_reply().await; // the phone
        customer.user.send_contact("380671234567");
    }
    let accepted = customer.next().await;
    order_number_in(&accepted)
}

#[tokio::test]
async fn an_order_costs_at_most_seven_messages_the_first_time_and_five_after() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    // The worst case: a Telegram language the bot must ask about.
    let mut maria = harness.customer(harness.double.user_with(1002, "Марія", "pl"));

    let first = order_everything(&mut maria, &harness, true).await;
    let (messages, edits) = count_since(&maria, 0);
    println!("first-time customer: {messages} messages, {edits} edits (order №{first})");
    assert!(messages <= 7, "first order: {messages} messages");
    // The service, the burst, the card while registering, the number on it: four edits,
    // one more if the machine stalls longer than the bot's quiet in the middle of the burst.
    assert!(edits <= 5, "first order: {edits} edits");

    let seen = maria.received().len();
    let second = order_everything(&mut maria, &harness, false).await;
    let (messages, edits) = count_since(&maria, seen);
    println!("returning customer: {messages} messages, {edits} edits (order №{second})");
    assert!(messages <= 5, "second order: {messages} messages");
    // The service, the burst, the number on the card (one more on a stall, as above).
    assert!(edits <= 4, "second order: {edits} edits");
    assert_ne!(first, second);
    maria.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

//! The cart: two services with quantities, changed with buttons and typed numbers; bad
//! input (a quantity of 0 or a million, forged buttons) refused with the cart unchanged; a
//! price changed during checkout shown before anything is ordered; the total computed from
//! the price list and frozen into `OrderCreated`.

use bot_gateway::texts::key;
use proto_events::{Event, Money, OrderItem};
use telegram_double::SentMessage;
use uuid::Uuid;

use crate::support::{Customer, EN, Harness, button_with_prefix, card_text, cart};

/// Registers the customer through /profile, so Confirm places orders at once.
async fn register(customer: &mut Customer, harness: &Harness) {
    let t = &harness.texts;
    customer.user.send_text("/profile");
    customer.expect_reply(&t.get(EN, key::PROFILE_NONE)).await;
    customer.user.send_text("Taras Shevchenko");
    customer.next_reply().await;
    customer.user.send_contact("380501112233");
    customer.next_reply().await;
}

fn draft_id(card: &SentMessage) -> String {
    let confirm = button_with_prefix(card, "confirm:");
    confirm
        .split(':')
        .nth(1)
        .expect("the draft's id")
        .to_owned()
}

#[tokio::test]
async fn a_cart_of_two_services_is_priced_by_the_server_and_frozen_at_confirmation() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut taras = harness.customer(harness.double.user_with(1501, "Taras", "en"));
    register(&mut taras, &harness).await;

    // Notarisation into the cart, then a diploma translation beside it.
    taras.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let top = taras.expect_reply(&t.get(EN, key::CATALOGUE_PROMPT)).await;
    assert_eq!(
        taras.press_label(&top, "Notarisation — 300 ₴").await.text,
        Some(t.get(EN, key::CART_ADDED))
    );
    let notarisation = ("Notarisation", 1, Some(30_000), key::CART_PER_ITEM);
    let card = taras
        .expect_edit(&card_text(
            t,
            EN,
            &cart(t, EN, &[notarisation]),
            "—",
            "none",
            key::DRAFT_CARD_READY,
        ))
        .await;
    taras
        .press_label(&card, &t.get(EN, key::BUTTON_ADD_SERVICE))
        .await;
    let catalogue = taras.expect_edit(&t.get(EN, key::CATALOGUE_PROMPT)).await;
    taras.press_label(&catalogue, "📂 Translation").await;
    let translation = taras.next().await;
    taras.press_label(&translation, "📂 Documents").await;
    let documents = taras.next().await;
    taras.press_label(&documents, "Diploma — 450 ₴/page").await;
    let diploma = ("Diploma", 1, Some(45_000), key::CART_PER_PAGE);
    let card = taras
        .expect_edit(&card_text(
            t,
            EN,
            &cart(t, EN, &[notarisation, diploma]),
            "—",
            "none",
            key::DRAFT_CARD_READY,
        ))
        .await;
    let draft = draft_id(&card);

    // The cart: + on the diploma, then a typed quantity for notarisation.
    taras.press_label(&card, &t.get(EN, key::BUTTON_CART)).await;
    let view = taras.next().await;
    assert!(
        view.edited && view.body().contains("Total: 750.00 UAH"),
        "{view:?}"
    );
    // One row per service, in cart order: the diploma's + is the second.
    let plus = view
        .inline_buttons()
        .into_iter()
        .filter(|(_, data)| data.starts_with("ci:"))
        .nth(1)
        .expect("+ under the second service")
        .1;
    taras.press(&view, &plus).await;
    let view = taras.next().await;
    assert!(
        view.body().contains("Total: 1200.00 UAH"),
        "{}",
        view.body()
    );
    let ask = button_with_prefix(&view, "cq:");
    taras.press(&view, &ask).await;
    taras
        .expect_reply(&t.format(
            EN,
            key::CART_QUANTITY_PROMPT,
            &[
                ("name", "Notarisation"),
                ("unit", &t.get(EN, key::CART_PER_ITEM)),
                ("max", "999"),
            ],
        ))
        .await;
    let invalid = t.format(EN, key::CART_QUANTITY_INVALID, &[("max", "999")]);
    for bad in ["0", "1000000", "three", "-2"] {
        taras.user.send_text(bad);
        taras.expect_reply(&invalid).await;
    }
    taras.user.send_text("3");
    let three = cart(
        t,
        EN,
        &[
            ("Notarisation", 3, Some(30_000), key::CART_PER_ITEM),
            ("Diploma", 2, Some(45_000), key::CART_PER_PAGE),
        ],
    );
    let card = taras
        .expect_edit(&card_text(
            t,
            EN,
            &three,
            "—",
            "none",
            key::DRAFT_CARD_READY,
        ))
        .await;

    // Forged buttons: a service not in the cart, another draft, a quantity past the bound.
    let outdated = Some(t.get(EN, key::BUTTON_OUTDATED));
    for forged in [
        format!("ci:{draft}:999999"),
        format!("cq:{draft}:424242"),
        format!("cx:{}:1", Uuid::now_v7().simple()),
        format!("cm:{draft}"),
    ] {
        assert_eq!(taras.press(&card, &forged).await.text, outdated, "{forged}");
    }

    // The diploma's price goes up while the customer looks at the card.
    sqlx::query(
        "UPDATE catalogue_services SET price_minor = 50000 WHERE code = 'translation.diploma'",
    )
    .execute(&harness.db)
    .await
    .unwrap();
    taras
        .press(&card, &button_with_prefix(&card, "confirm:"))
        .await;
    taras
        .expect_reply(&t.format(EN, key::CART_PRICES_CHANGED, &[("total", "1900.00 UAH")]))
        .await;
    let repriced = cart(
        t,
        EN,
        &[
            ("Notarisation", 3, Some(30_000), key::CART_PER_ITEM),
            ("Diploma", 2, Some(50_000), key::CART_PER_PAGE),
        ],
    );
    let new_card = taras
        .expect_reply(&card_text(
            t,
            EN,
            &repriced,
            "—",
            "none",
            key::DRAFT_CARD_READY,
        ))
        .await;
    // The old card's Confirm showed the old total: it places nothing.
    assert_eq!(
        taras
            .press(&card, &button_with_prefix(&card, "confirm:"))
            .await
            .text,
        outdated
    );
    taras
        .press(&new_card, &button_with_prefix(&new_card, "confirm:"))
        .await;
    let accepted = taras.next().await;
    assert!(
        accepted.body().starts_with("Order №"),
        "{}",
        accepted.body()
    );

    let Event::OrderCreated(created) = events.next().await.payload else {
        panic!("the order")
    };
    assert_eq!(
        created.items,
        [
            OrderItem {
                service_code: "notarisation".into(),
                quantity: 3,
                unit_price_minor: Some(30_000),
                currency: "UAH".into(),
                unit: "item".into(),
            },
            OrderItem {
                service_code: "translation.diploma".into(),
                quantity: 2,
                unit_price_minor: Some(50_000),
                currency: "UAH".into(),
                unit: "page".into(),
            },
        ]
    );
    assert_eq!(
        created.total,
        Some(Money {
            amount_minor: 190_000,
            currency: "UAH".into()
        })
    );
    assert_eq!(created.service_code.as_deref(), Some("notarisation"));
    taras.assert_all_read();
    gateway.stop().await;
    harness.finish().await;
}

#[tokio::test]
async fn a_service_on_quote_makes_the_order_a_quote_and_minus_takes_the_last_one_out() {
    let harness = Harness::new().await;
    let mut events = harness.tap_events().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut iryna = harness.customer(harness.double.user_with(1502, "Iryna", "en"));
    register(&mut iryna, &harness).await;

    iryna.user.send_text(&t.get(EN, key::MENU_NEW_ORDER));
    let top = iryna.next_reply().await;
    iryna.press_label(&top, "Apostille").await;
    let apostille = ("Apostille", 1, None, key::CART_PER_ITEM);
    let card = iryna
        .expect_edit(&card_text(
            t,
            EN,
            &cart(t, EN, &[apostille]),
            "—",
            "none",
            key::DRAFT_CARD_READY,
        ))
        .await;
    assert!(card.body().contains(&t.get(EN, key::CART_TOTAL_ON_QUOTE)));

    // − on the only one: the cart is empty, and so is the order.
    iryna.press_label(&card, &t.get(EN, key::BUTTON_CART)).await;
    let view = iryna.next().await;
    iryna.press(&view, &button_with_prefix(&view, "cm:")).await;
    let emptied = iryna.next().await;
    assert!(
        emptied.body().ends_with(&t.get(EN, key::CART_EMPTY)),
        "{}",
        emptied.body()
    );

    // Back in, with a description: placed without a total, for staff to quote.
    iryna
        .press_label(&emptied, &t.get(EN, key::BUTTON_CHANGE_SERVICE))
        .await;
    let top = iryna.next().await;
    iryna.press_label(&top, "Apostille").await;
    iryna.next().await;
    iryna.user.send_text("Apostille on a birth certificate");
    let card = iryna.next().await;
    iryna
        .press(&card, &button_with_prefix(&card, "confirm:"))
        .await;
    iryna.next().await;
    let Event::OrderCreated(created) = events.next().await.payload else {
        panic!("the order")
    };
    assert_eq!(created.items.len(), 1);
    assert_eq!(created.items[0].unit_price_minor, None);
    assert_eq!(created.total, None, "priced by a quote");
    gateway.stop().await;
    harness.finish().await;
}

//! Telegram failing the bot's replies (5xx): every reply reaches the customer once Telegram
//! takes them again, in order, and an update that was handled is not handled again.

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

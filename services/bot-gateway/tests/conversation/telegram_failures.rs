//! Telegram failing the bot's replies (5xx): every reply reaches the customer once Telegram
//! takes them again, in order, and an update that was handled is not handled again.

use bot_gateway::texts::key;
use proto_events::Event;
use telegram_double::Fault;

use crate::support::{EN, Harness, button_data, eventually, order_number_in};

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

    // The first of the two replies to /start fails; both come once Telegram takes them, in
    // order, once each.
    let before = telegram_fails_once(&harness);
    iryna.user.send_text("/start");
    iryna
        .expect_reply(&t.format(EN, key::GREETING, &[("name", "Iryna")]))
        .await;
    iryna.expect_reply(&t.get(EN, key::LANGUAGE_PROMPT)).await;
    refused_once(&harness, before);

    iryna.user.send_text("/profile");
    iryna.next_reply().await;
    iryna.user.send_text("Iryna Bondar");
    iryna.next_reply().await;
    iryna.user.send_text("+380931112233");
    iryna.next_reply().await;
    iryna.user.send_text("Translate my certificate");
    let saved = iryna.expect_reply(&t.get(EN, key::DRAFT_TEXT_SAVED)).await;
    iryna
        .press_label(&saved, &t.get(EN, key::BUTTON_DONE))
        .await;
    let summary = iryna.next_reply().await;

    // Confirm, and Telegram fails the reply: the order is placed once, and its number told
    // once Telegram takes it, without the customer pressing again.
    let before = telegram_fails_once(&harness);
    let confirm = button_data(&summary, &t.get(EN, key::BUTTON_CONFIRM));
    iryna.user.press_button(summary.message_id, &confirm);
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
    eventually("the press acknowledged", async || {
        harness.double.pending_updates() == 0
    })
    .await;

    // An album, and Telegram fails its one answer: it comes once Telegram takes it.
    let before = telegram_fails_once(&harness);
    iryna.user.send_media_group(
        vec![(
            "page-1.pdf".to_owned(),
            "application/pdf".to_owned(),
            b"%PDF page".to_vec(),
        )],
        None,
    );
    let album = iryna
        .expect_reply(&t.format(
            EN,
            key::DRAFT_ALBUM_RECEIVED,
            &[("added", "1"), ("count", "1")],
        ))
        .await;
    refused_once(&harness, before);

    // The next order's events come next: the press handled above was not handled again.
    iryna
        .press_label(&album, &t.get(EN, key::BUTTON_DONE))
        .await;
    let summary = iryna.next_reply().await;
    iryna
        .press_label(&summary, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    let accepted = iryna.next_reply().await;
    let Event::OrderCreated(second) = events.next().await.payload else {
        panic!("the second order, not the first again")
    };
    assert_ne!(second.order_id, first.order_id);
    assert_eq!(second.order_number, order_number_in(&accepted));
    iryna.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}

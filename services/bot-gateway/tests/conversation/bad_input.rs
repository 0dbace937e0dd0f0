//! Everything a customer may send that the bot must refuse or correct kindly, leaving
//! nothing half made: stickers, bad commands, overlong text, refused and oversized files,
//! stale and forged buttons.

use bot_gateway::dialogue::MAX_DESCRIPTION_CHARS;
use bot_gateway::texts::key;
use bureau_platform::links::{LinkPurpose, LinkSigner};
use proto_events::Event;
use uuid::Uuid;

use crate::support::{EN, Harness, UK, order_number_in};

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
    // The draft starts with it: its card is a new message.
    let card = alice.next_reply().await;
    assert!(
        card.body()
            .contains("scan.tiff (25.0 MB; you will get an upload link)"),
        "{}",
        card.body()
    );
    alice
        .user
        .send_photo(vec![0xFF, 0xD8, 0xFF, 0xE0, 9], Some("   "));
    let stale_card = alice.next().await;
    assert!(stale_card.edited && stale_card.message_id == card.message_id);

    // More text: the card's earlier Confirm no longer matches the draft.
    alice.user.send_text("Please scan in colour");
    let card = alice.next().await;
    assert!(card.edited && card.body().contains("Please scan in colour"));
    let outdated = Some(t.get(EN, key::BUTTON_OUTDATED));
    assert_eq!(
        alice
            .press_label(&stale_card, &t.get(EN, key::BUTTON_CONFIRM))
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
        assert_eq!(alice.press(&card, &forged).await.text, outdated, "{forged}");
    }

    alice
        .press_label(&card, &t.get(EN, key::BUTTON_CONFIRM))
        .await;
    assert!(alice.next().await.edited, "the card, while registering");
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
    let verified = signer.verify(token, LinkPurpose::Upload).expect(&url);
    assert_eq!(verified.subject, created.order_id, "{url}");
    // Stored, so staff and the order's closing can revoke it.
    assert_eq!(
        bureau_platform::links::link_state(&harness.db, &verified, LinkPurpose::Upload)
            .await
            .unwrap(),
        bureau_platform::links::LinkState::Active {
            order_id: created.order_id
        }
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
async fn an_empty_file_is_refused_with_a_sentence_and_the_draft_kept_as_it_was() {
    let harness = Harness::new().await;
    let gateway = harness.start_gateway(harness.settings.clone()).await;
    let t = &harness.texts;
    let mut bohdan = harness.customer(harness.double.user_with(2102, "Богдан", "uk"));

    bohdan
        .user
        .send_document("empty.pdf", "application/pdf", Vec::new(), None);
    bohdan
        .expect_reply(&t.format(UK, key::DRAFT_FILE_EMPTY, &[("name", "empty.pdf")]))
        .await;

    // In an album too: the other files are taken, and the empty one is named.
    bohdan.user.send_media_group(
        vec![
            (
                "scan.pdf".to_owned(),
                "application/pdf".to_owned(),
                b"%PDF scan".to_vec(),
            ),
            (
                "blank.pdf".to_owned(),
                "application/pdf".to_owned(),
                Vec::new(),
            ),
        ],
        None,
    );
    // What was left out is said; the card shows what went in.
    bohdan
        .expect_reply(&t.format(UK, key::DRAFT_FILE_EMPTY, &[("name", "blank.pdf")]))
        .await;
    let card = bohdan.next_reply().await;
    assert!(
        card.body().contains("• scan.pdf")
            && !card.body().contains("empty.pdf")
            && !card.body().contains("blank.pdf"),
        "{}",
        card.body()
    );
    bohdan.assert_all_read();

    gateway.stop().await;
    harness.finish().await;
}
